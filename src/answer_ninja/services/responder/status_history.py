"""90 days of component status, for the public status page.

Why the responder keeps it (not the console): it is operational data the responder already observes every few
seconds, it must survive exactly the outages it describes (the application's PostgreSQL or Redis down: the
responder's own SQLite under DATA_DIR/responder keeps working), and the console stays stateless (any number of
replicas, nothing to migrate). Each sample adds its interval to the day's operational/degraded/down seconds of
every component; days older than the window are deleted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from answer_ninja.services.responder.status_model import COMPONENTS, SEVERITY, State

HISTORY_DAYS = 90
SCHEMA = """
CREATE TABLE IF NOT EXISTS status_days (
    day TEXT NOT NULL, component TEXT NOT NULL,
    operational_seconds REAL NOT NULL DEFAULT 0, degraded_seconds REAL NOT NULL DEFAULT 0,
    down_seconds REAL NOT NULL DEFAULT 0, worst TEXT NOT NULL DEFAULT 'operational',
    PRIMARY KEY (day, component)
);
"""


class StatusHistory:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "status-history.sqlite3"
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=5.0)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.row_factory = sqlite3.Row
            with connection:
                yield connection
        finally:
            connection.close()

    def record(self, states: Mapping[str, State], *, seconds: float, at: datetime | None = None) -> None:
        """Add ``seconds`` in each component's state to the day of ``at``; forget days past the window."""
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        day = moment.date().isoformat()
        with self._connect() as db:
            for component, state in states.items():
                db.execute(
                    "INSERT INTO status_days (day, component) VALUES (?, ?) ON CONFLICT(day, component) DO NOTHING",
                    (day, component),
                )
                row = db.execute(
                    "SELECT worst FROM status_days WHERE day = ? AND component = ?", (day, component)
                ).fetchone()
                worse = state if SEVERITY[state] > SEVERITY.get(row["worst"], 0) else row["worst"]
                db.execute(
                    f"UPDATE status_days SET {state}_seconds = {state}_seconds + ?, worst = ? "
                    "WHERE day = ? AND component = ?",
                    (seconds, worse, day, component),
                )
            cutoff = (moment.date() - timedelta(days=HISTORY_DAYS - 1)).isoformat()
            db.execute("DELETE FROM status_days WHERE day < ?", (cutoff,))

    def days(self, *, today: date | None = None, days: int = HISTORY_DAYS) -> list[dict[str, Any]]:
        """One entry per calendar day, oldest first; each component's worst state and uptime (None: no data)."""
        last = today or datetime.now(UTC).date()
        first = last - timedelta(days=days - 1)
        with self._connect() as db:
            rows = db.execute("SELECT * FROM status_days WHERE day >= ?", (first.isoformat(),)).fetchall()
        by_day: dict[str, dict[str, Any]] = {}
        for row in rows:
            total = row["operational_seconds"] + row["degraded_seconds"] + row["down_seconds"]
            by_day.setdefault(row["day"], {})[row["component"]] = {
                "worst": row["worst"],
                "uptime": round(1 - row["down_seconds"] / total, 5) if total else None,
                "down_seconds": round(row["down_seconds"], 1),
                "degraded_seconds": round(row["degraded_seconds"], 1),
            }
        history = []
        for offset in range(days):
            day = (first + timedelta(days=offset)).isoformat()
            recorded = by_day.get(day, {})
            history.append({"day": day, "components": {name: recorded.get(name) for name in COMPONENTS}})
        return history

    def uptime(self, component: str, history: list[dict[str, Any]]) -> float | None:
        """The component's share of time not down over the days that have data."""
        up = total = 0.0
        for entry in history:
            data = entry["components"].get(component)
            if data is None or data["uptime"] is None:
                continue
            up += data["uptime"]
            total += 1
        return round(up / total, 5) if total else None
