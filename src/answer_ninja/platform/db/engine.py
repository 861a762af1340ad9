"""Async engine and sessions for PostgreSQL (asyncpg) or SQLite (aiosqlite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def _enable_sqlite_concurrency(dbapi_connection: Any, _: Any) -> None:
    # Five processes share one SQLite file under `answer-ninja up`: WAL lets readers run beside a writer,
    # and busy_timeout makes a writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def build_engine(url: str, *, connect_timeout: float = 2.0) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 5})
        event.listen(engine.sync_engine, "connect", _enable_sqlite_concurrency)
        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        # Without this, a stopped PostgreSQL makes each check wait for TCP timeouts instead of failing fast.
        connect_args={"timeout": connect_timeout, "command_timeout": connect_timeout * 2},
    )


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, connect_timeout: float = 2.0) -> None:
        self.url = url
        self.engine = build_engine(url, connect_timeout=connect_timeout)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def kind(self) -> str:
        return "postgres" if self.engine.dialect.name == "postgresql" else "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def ping(self, timeout: float) -> None:
        """Raise if the database cannot run ``SELECT 1`` within ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
