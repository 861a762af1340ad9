"""Group commit for call records: every webhook waits until its record is stored, but concurrent webhooks share
one INSERT and one commit. Under load this turns hundreds of small transactions a second into a few dozen
batches, which is what lets one gateway process keep up with a burst of calls.

A carrier that retries a call (same carrier and carrier call id) gets the first record's id back: the INSERT
skips conflicting rows (ON CONFLICT DO NOTHING ... RETURNING), and the ids of skipped rows are looked up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import CallRecord
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

# One statement's worth of rows: big enough to drain a burst, small enough to keep a statement quick.
MAX_BATCH_ROWS = 500

Pending = tuple[dict[str, Any], "asyncio.Future[str]"]


class RecordWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        insert = postgres_insert(CallRecord) if database.kind == "postgres" else sqlite_insert(CallRecord)
        # One statement, compiled once and cached; rows go as executemany parameters (SQLAlchemy batches them into
        # multi-row INSERTs itself). A multi-VALUES statement built per batch would be compiled every time.
        self._statement = insert.on_conflict_do_nothing(index_elements=["carrier", "carrier_call_id"]).returning(
            CallRecord.id
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="call-record-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None

    async def write(self, row: dict[str, Any]) -> str:
        """Store ``row`` (all CallRecord columns); returns the stored record's id (an earlier one for a retry)."""
        if self._task is None:  # not started (tests building the app without its lifespan): write alone
            return (await self._write_batch([row]))[0]
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while not (self._stopping and not self._pending):
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH_ROWS], self._pending[MAX_BATCH_ROWS:]
                try:
                    ids = await self._write_batch([row for row, _ in batch])
                except Exception as error:  # every waiting webhook learns of the failure; the writer lives on
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), stored_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(stored_id)

    async def _write_batch(self, rows: list[dict[str, Any]]) -> list[str]:
        async with self.database.engine.begin() as connection:
            inserted = set((await connection.execute(self._statement, rows)).scalars().all())
            skipped = [row for row in rows if row["id"] not in inserted]
            existing: dict[tuple[str, str], str] = {}
            if skipped:
                keys = [(row["carrier"], row["carrier_call_id"]) for row in skipped]
                found = await connection.execute(
                    select(CallRecord.carrier, CallRecord.carrier_call_id, CallRecord.id).where(
                        tuple_(CallRecord.carrier, CallRecord.carrier_call_id).in_(keys)
                    )
                )
                existing = {(carrier, call_id): record_id for carrier, call_id, record_id in found.all()}
        return [
            row["id"] if row["id"] in inserted else existing[(row["carrier"], row["carrier_call_id"])] for row in rows
        ]
