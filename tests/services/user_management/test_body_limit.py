"""Request bodies are bounded before they are read whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from answer_ninja.services.user_management.body_limit import BodyLimitMiddleware


def app_with_limit(limit: int) -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_bytes=limit)
    return app


async def test_bodies_within_the_limit_pass_and_larger_ones_get_413() -> None:
    transport = httpx.ASGITransport(app=app_with_limit(100))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/echo", content=b"x" * 100)).json() == {"bytes": 100}
        refused = await client.post("/echo", content=b"x" * 101)
        assert refused.status_code == 413
        assert "100 bytes" in refused.json()["error"]


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"x" * 10

    transport = httpx.ASGITransport(app=app_with_limit(100))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.post("/echo", content=chunks())
    assert refused.status_code == 413
