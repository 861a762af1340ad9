"""user-management: Users, authentication, hosted numbers, whitelists and preferences."""
