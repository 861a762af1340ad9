"""Alembic migrations run on both PostgreSQL and SQLite, up and down, and match the models."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from answer_ninja.platform.db.migrate import downgrade, upgrade
from answer_ninja.platform.db.models import Base

EXPECTED_TABLES = {
    "users",
    "hosted_numbers",
    "revoked_tokens",
    "whitelist_entries",
    "call_records",
    "conversation_turns",
    "spam_profiles",
    "caller_feedback",
    "number_verifications",
}


def _tables(url: str) -> set[str]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(read())


def test_models_and_expected_tables_agree() -> None:
    assert set(Base.metadata.tables) == EXPECTED_TABLES


def test_sqlite_upgrade_and_downgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES
    downgrade(url, "base")
    assert not (EXPECTED_TABLES & _tables(url))
    upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES


@pytest.mark.integration
def test_postgres_upgrade_and_downgrade(postgres_server) -> None:  # type: ignore[no-untyped-def]
    import uuid

    url = postgres_server.create_database("m_" + uuid.uuid4().hex[:10])
    upgrade(url)
    assert _tables(url) >= EXPECTED_TABLES
    downgrade(url, "base")
    assert not (EXPECTED_TABLES & _tables(url))
