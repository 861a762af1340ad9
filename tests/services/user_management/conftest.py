from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.phone_gateway.live import LiveServices, live_services


@pytest.fixture
def live(postgres_url: str, redis_url: str) -> Iterator[LiveServices]:
    """The three services on a fresh PostgreSQL database and the session's Redis (flushed of routing keys)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("routing:*"):
        client.delete(key)
    client.close()
    with live_services(postgres_url, redis_url) as services:
        yield services
