"""Migration 0003_console adds users.notification_channels (default: none) and takes it away again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from answer_ninja.platform.db.migrate import downgrade, upgrade

INSERT_USER = (
    "INSERT INTO users (id, email, password_hash, display_name, language, ai_enabled, ai_off_action, persona, "
    "max_call_seconds, spam_threshold, known_spam_action, created_at, updated_at) VALUES ('u1', 'a@b.c', 'h', '', "
    "'zh-CN', true, 'reject', 'polite', 180, 0.8, 'reject', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def _columns_and_default(url: str) -> tuple[set[str], object]:
    async def read() -> tuple[set[str], object]:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("users")})
            value = None
            if "notification_channels" in columns:
                await connection.execute(
                    text(
                        "INSERT INTO users (id, email, password_hash, display_name, language, ai_enabled, "
                        "ai_off_action, persona, max_call_seconds, spam_threshold, known_spam_action, created_at, "
                        "updated_at) VALUES ('u1', 'a@b.c', 'h', '', 'zh-CN', true, 'reject', 'polite', 180, 0.8, "
                        "'reject', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    )
                )
                value = (await connection.execute(text("SELECT notification_channels FROM users"))).scalar_one()
                await connection.execute(text("DELETE FROM users"))
        await engine.dispose()
        return columns, value

    return asyncio.run(read())


def _check(url: str) -> None:
    upgrade(url)
    columns, default = _columns_and_default(url)
    assert "notification_channels" in columns
    assert default in ("[]", [])  # an existing account has no channels until it chooses some
    downgrade(url, "0003_accounts")
    assert "notification_channels" not in _columns_and_default(url)[0]
    upgrade(url)


def test_sqlite_adds_and_removes_notification_channels(tmp_path: Path) -> None:
    _check(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.integration
def test_postgres_adds_and_removes_notification_channels(postgres_server) -> None:  # type: ignore[no-untyped-def]
    import uuid

    _check(postgres_server.create_database("c_" + uuid.uuid4().hex[:10]))
