"""A real stack for the accounts, reputation and bounded-work attacks: `answer-ninja up` on free ports with
user-management, phone-gateway and profile-analytics on a real PostgreSQL and Redis; helpers that act as a
person, a carrier and an operator, and read the database to check what an attack changed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

from answer_ninja.telephony.loopback import LoopbackAnswer, LoopbackCarrier
from tests.harness.credentials import operator_headers
from tests.harness.servers import PostgresServer, RedisServer
from tests.harness.stack import LocalStack

SERVICES = ("user-management", "phone-gateway", "profile-analytics")
TWILIO_TOKEN = "test-twilio-auth-token-0123456789"
PASSWORD = "correct horse battery"


@dataclass
class AccountsStack:
    local: LocalStack
    database_url: str
    redis_url: str

    def url(self, service: str) -> str:
        return self.local.url(service)

    def client(self, service: str, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url(service), headers=headers, timeout=30.0)

    def forget_throttles(self) -> None:
        """Between attacks: every test starts with clean throttle counters (they all come from 127.0.0.1)."""
        client = redis.Redis.from_url(self.redis_url)
        for key in client.scan_iter("throttle:*"):
            client.delete(key)
        client.close()

    # --- people ---------------------------------------------------------------------------------------------

    def register(
        self, email: str, *, hosted: list[str] | None = None, real_number: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": PASSWORD, "hosted_numbers": hosted or []}
        if real_number:
            body["real_number"] = real_number
        with self.client("user-management") as users:
            return users.post("/api/v1/auth/register", json=body)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        with self.client("user-management") as users:
            return users.post("/api/v1/auth/login", json={"email": email, "password": password})

    def user(self, email: str, *, hosted: str | None = None, real_number: str | None = None) -> tuple[str, str]:
        """A person with proven numbers (vouched for by the operator); returns (user id, access token)."""
        assert self.register(email, hosted=[hosted] if hosted else [], real_number=real_number).status_code == 202
        token = self.login(email).json()["access_token"]
        if hosted:
            self.vouch(email, hosted)
        if real_number:
            self.vouch(email, real_number, purpose="forward")
        with self.client("user-management", token) as users:
            return users.get("/api/v1/me").json()["id"], token

    def vouch(self, email: str, number: str, *, purpose: str = "hosted") -> None:
        with self.client("user-management") as users:
            response = users.post(
                "/api/v1/operator/numbers/verified",
                json={"email": email, "number": number, "purpose": purpose},
                headers=operator_headers(),
            )
        assert response.status_code == 200, response.text

    def logged_code(self, number: str) -> str | None:
        """The last code the loopback carrier 'sent' to ``number``: user-management's log, as a person reads it."""
        log = self.local.data_dir / "logs" / "user-management.log"
        code = None
        for line in log.read_text(errors="replace").splitlines():
            if "loopback_verification_code" in line and number in line:
                try:
                    code = json.loads(line).get("verification_code")
                except ValueError:
                    continue
        return code

    # --- a carrier ------------------------------------------------------------------------------------------

    def call(self, caller: str, dialled: str) -> tuple[LoopbackAnswer, dict[str, Any]]:
        """Place a Twilio-format call; returns the TwiML answer and the stored call record."""
        sid = "CA" + uuid.uuid4().hex

        async def run() -> LoopbackAnswer:
            carrier = LoopbackCarrier(self.url("phone-gateway"), auth_token=TWILIO_TOKEN)
            try:
                return await carrier.place_call(caller=caller, dialled=dialled, call_sid=sid)
            finally:
                await carrier.aclose()

        answer = asyncio.run(run())
        rows = self.query("select * from call_records where carrier_call_id = $1", sid)
        return answer, rows[0] if rows else {}

    # --- the database, to see what an attack changed ----------------------------------------------------------

    def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            connection = await asyncpg.connect(self.database_url.replace("+asyncpg", ""))
            try:
                return [dict(row) for row in await connection.fetch(sql, *args)]
            finally:
                await connection.close()

        return asyncio.run(run())


def accounts_stack(
    tmp_path: Path,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    services: tuple[str, ...] = SERVICES,
    **env: str,
) -> Iterator[AccountsStack]:
    """The stack for one test module (call it from a module-scoped fixture)."""
    database_url = postgres_server.create_database("sec_" + uuid.uuid4().hex[:12])
    client = redis.Redis.from_url(redis_server.url)
    for pattern in ("routing:*", "throttle:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()
    local = LocalStack(
        tmp_path,
        services=services,
        env={
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            **env,
        },
    )
    local.start(timeout=240)  # generous: the machine running the suite may be busy
    try:
        yield AccountsStack(local, database_url, redis_server.url)
    finally:
        local.stop()
