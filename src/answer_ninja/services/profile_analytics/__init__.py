"""profile-analytics: Caller profiles that learn from every call; call summaries and statistics."""
