"""Group commit for call records: every webhook waits until its record is stored, but concurrent webhooks share
one INSERT and one commit. Under load this turns hundreds of small transactions a second into a few dozen
batches, which is what lets one gateway process keep up with a burst of calls.

When the database cannot be written, records are kept in memory (up to MAX_BACKLOG_ROWS) and retried every
RETRY_SECONDS; meanwhile webhooks do not wait for the database at all, so calls are still answered at once. Only
a crash of the process while the database is down loses records, and the metrics count what is waiting.

A carrier that retries a call (same carrier and carrier call id) gets the first record's id back: the INSERT
skips conflicting rows (ON CONFLICT DO NOTHING ... RETURNING), and the ids of skipped rows are looked up.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import CallRecord
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

# One statement's worth of rows: big enough to drain a burst, small enough to keep a statement quick.
MAX_BATCH_ROWS = 500

# Records kept while the database is down: ~1 KB each, so at most ~50 MB; the oldest go first beyond it.
MAX_BACKLOG_ROWS = 50_000
RETRY_SECONDS = 1.0

Pending = tuple[dict[str, Any], "asyncio.Future[str | None]"]

BACKLOG = Gauge("ai_ninja_call_record_backlog", "Call records waiting for the database to come back.")
DROPPED = Counter("ai_ninja_call_records_dropped_total", "Call records dropped because the backlog was full.")


class RecordWriter:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: list[Pending] = []
        self._backlog: list[dict[str, Any]] = []
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
        if self._backlog:
            await self._retry_backlog()
        if self._backlog:
            log.error("call_records_lost_at_shutdown", rows=len(self._backlog))

    async def write(self, row: dict[str, Any]) -> str | None:
        """Store ``row`` (all CallRecord columns). Returns the stored record's id (an earlier one when the carrier
        retried the call), or None when the database is down and the row waits in the backlog."""
        if self._task is None:  # not started (tests building the app without its lifespan): write alone
            return (await self._write_batch([row]))[0]
        if self._backlog:  # the database is down: do not make the caller wait for it
            self._defer([row])
            return None
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wake.set()
        return await future

    def _defer(self, rows: list[dict[str, Any]]) -> None:
        self._backlog.extend(rows)
        overflow = len(self._backlog) - MAX_BACKLOG_ROWS
        if overflow > 0:
            del self._backlog[:overflow]
            DROPPED.inc(overflow)
        BACKLOG.set(len(self._backlog))

    async def _run(self) -> None:
        while not (self._stopping and not self._pending):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=RETRY_SECONDS if self._backlog else None)
            self._wake.clear()
            if self._backlog:
                await self._retry_backlog()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH_ROWS], self._pending[MAX_BATCH_ROWS:]
                rows = [row for row, _ in batch]
                try:
                    ids: list[str | None] = list(await self._write_batch(rows))
                except Exception as error:  # keep the rows for later; the webhooks answer without waiting
                    log.error("call_records_deferred", rows=len(rows), error_type=type(error).__name__)
                    self._defer(rows)
                    ids = [None] * len(rows)
                for (_, future), stored_id in zip(batch, ids, strict=True):
                    if not future.done():
                        future.set_result(stored_id)

    async def _retry_backlog(self) -> None:
        batch = self._backlog[:MAX_BATCH_ROWS]
        try:
            await self._write_batch(batch)
        except Exception:  # still down: try again in RETRY_SECONDS
            return
        del self._backlog[: len(batch)]
        BACKLOG.set(len(self._backlog))
        log.info("call_records_recovered", rows=len(batch), still_waiting=len(self._backlog))

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
