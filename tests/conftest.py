"""Fixtures shared by the whole suite. Integration fixtures start real servers once per session."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from answer_ninja.platform.db.migrate import upgrade
from tests.harness.llm_server import llm_server  # noqa: F401  # session fixture: one real LLM server per run
from tests.harness.servers import PostgresServer, RedisServer


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session (tests that stop it must start it again)."""
    # Not under tmp_path_factory: pytest's base directory is private to root, and postgres runs as its own user.
    directory = Path(tempfile.mkdtemp(prefix="answer-ninja-pg-"))
    server = PostgresServer(directory).init()
    server.start()
    yield server
    with contextlib.suppress(Exception):  # already stopped by a test that failed midway
        server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, migrated database on the real PostgreSQL, one per test."""
    url = postgres_server.create_database("t_" + uuid.uuid4().hex[:12])
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file, one per test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
