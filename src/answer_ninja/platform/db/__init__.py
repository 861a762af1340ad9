"""Relational storage: SQLAlchemy 2 (async) models, engine and Alembic migrations (PostgreSQL and SQLite)."""
