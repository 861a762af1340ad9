"""Real servers for integration tests: PostgreSQL, Redis and service processes on loopback."""
