"""The responder's own durable state: incidents, the audit log, action budgets, approvals, known-good config.

SQLite under ``DATA_DIR/responder/`` on purpose: the responder must keep working (and remembering) while the
application's PostgreSQL or Redis is the thing that is down. Writes are tiny and local; WAL keeps the CLI able
to read while the responder writes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from answer_ninja.ops.models import (
    ActionKind,
    ActionOutcome,
    ActionRecord,
    FailureMode,
    Incident,
    IncidentStatus,
    TimelineEvent,
    utc_now,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, started_at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, reason TEXT NOT NULL, result TEXT NOT NULL, incident_id TEXT, dry_run INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_budget ON audit (action, target, at);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, incident_id TEXT, action TEXT NOT NULL, target TEXT NOT NULL, requested_at TEXT NOT NULL,
    status TEXT NOT NULL, decided_by TEXT, decided_at TEXT
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def incident_to_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "status": str(incident.status),
        "services": incident.services,
        "started_at": incident.started_at.isoformat(),
        "detected_at": incident.detected_at.isoformat(),
        "source": incident.source,
        "mode": None if incident.mode is None else str(incident.mode),
        "diagnosis": incident.diagnosis,
        "recovered_at": incident.recovered_at.isoformat() if incident.recovered_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "escalated_at": incident.escalated_at.isoformat() if incident.escalated_at else None,
        "escalation_reason": incident.escalation_reason,
        "mttd_seconds": round(incident.mttd_seconds, 3),
        "mttr_seconds": None if incident.mttr_seconds is None else round(incident.mttr_seconds, 3),
        "timeline": [
            {"at": event.at.isoformat(), "kind": event.kind, "message": event.message, "data": event.data}
            for event in incident.timeline
        ],
        "actions": [
            {
                "kind": str(action.kind),
                "services": list(action.services),
                "reason": action.reason,
                "outcome": str(action.outcome),
                "started_at": action.started_at.isoformat(),
                "ended_at": action.ended_at.isoformat(),
                "seconds": round(action.seconds, 3),
                "detail": action.detail,
            }
            for action in incident.actions
        ],
    }


def incident_from_dict(raw: dict[str, Any]) -> Incident:
    return Incident(
        id=raw["id"],
        status=IncidentStatus(raw["status"]),
        services=list(raw["services"]),
        started_at=datetime.fromisoformat(raw["started_at"]),
        detected_at=datetime.fromisoformat(raw["detected_at"]),
        source=raw["source"],
        mode=None if raw["mode"] is None else FailureMode(raw["mode"]),
        diagnosis=raw["diagnosis"],
        recovered_at=_dt(raw["recovered_at"]),
        resolved_at=_dt(raw["resolved_at"]),
        escalated_at=_dt(raw["escalated_at"]),
        escalation_reason=raw["escalation_reason"],
        timeline=[
            TimelineEvent(datetime.fromisoformat(e["at"]), e["kind"], e["message"], e["data"]) for e in raw["timeline"]
        ],
        actions=[
            ActionRecord(
                ActionKind(a["kind"]),
                tuple(a["services"]),
                a["reason"],
                ActionOutcome(a["outcome"]),
                datetime.fromisoformat(a["started_at"]),
                datetime.fromisoformat(a["ended_at"]),
                a["detail"],
            )
            for a in raw["actions"]
        ],
    )


class IncidentStore:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "responder.sqlite3"
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

    # --- incidents ---
    @staticmethod
    def new_id() -> str:
        return utc_now().strftime("INC-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]

    def save(self, incident: Incident) -> None:
        body = json.dumps(incident_to_dict(incident), ensure_ascii=False)
        with self._connect() as db:
            db.execute(
                "INSERT INTO incidents (id, status, started_at, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
                (incident.id, str(incident.status), incident.started_at.isoformat(), body),
            )

    def get(self, incident_id: str) -> Incident | None:
        with self._connect() as db:
            row = db.execute("SELECT body FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else incident_from_dict(json.loads(row["body"]))

    def recent(self, *, limit: int = 50) -> list[Incident]:
        with self._connect() as db:
            rows = db.execute("SELECT body FROM incidents ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()
        return [incident_from_dict(json.loads(row["body"])) for row in rows]

    def open_incident(self) -> Incident | None:
        """The incident still being handled, if any (one incident per outage)."""
        closed = (str(IncidentStatus.RESOLVED), str(IncidentStatus.FALSE_ALARM))
        with self._connect() as db:
            row = db.execute(
                "SELECT body FROM incidents WHERE status NOT IN (?, ?) ORDER BY started_at DESC LIMIT 1", closed
            ).fetchone()
        return None if row is None else incident_from_dict(json.loads(row["body"]))

    # --- audit log and budgets ---
    def audit(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        reason: str,
        result: str,
        incident_id: str | None = None,
        dry_run: bool = False,
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO audit (at, actor, action, target, reason, result, incident_id, dry_run) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_now().isoformat(), actor, action, target, reason, result, incident_id, int(dry_run)),
            )

    def audit_log(self, *, limit: int = 100) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def count_actions(self, *, action: str, target: str, since: timedelta) -> int:
        """How many times ``action`` really ran on ``target`` recently (dry runs and skips do not count)."""
        cutoff = (utc_now() - since).isoformat()
        with self._connect() as db:
            row = db.execute(
                "SELECT COUNT(*) FROM audit WHERE action = ? AND target = ? AND at >= ? AND dry_run = 0 "
                "AND result NOT IN ('skipped', 'started')",
                (action, target, cutoff),
            ).fetchone()
        return int(row[0])

    # --- approvals ---
    def request_approval(self, *, incident_id: str | None, action: str, target: str) -> str:
        with self._connect() as db:
            row = db.execute(
                "SELECT id FROM approvals WHERE action = ? AND target = ? AND status = 'pending' "
                "AND (incident_id IS ? OR incident_id = ?)",
                (action, target, incident_id, incident_id),
            ).fetchone()
            if row is not None:
                return str(row["id"])
            approval_id = "APR-" + uuid.uuid4().hex[:8]
            db.execute(
                "INSERT INTO approvals (id, incident_id, action, target, requested_at, status) "
                "VALUES (?, ?, ?, ?, ?, 'pending')",
                (approval_id, incident_id, action, target, utc_now().isoformat()),
            )
        return approval_id

    def decide_approval(self, approval_id: str, *, approved: bool, by: str) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
                ("approved" if approved else "rejected", by, utc_now().isoformat(), approval_id),
            )
        return cursor.rowcount == 1

    def is_approved(self, *, incident_id: str | None, action: str, target: str) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM approvals WHERE action = ? AND target = ? AND status = 'approved' "
                "AND (incident_id IS ? OR incident_id = ?)",
                (action, target, incident_id, incident_id),
            ).fetchone()
        return row is not None

    def approvals(self, *, status: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM approvals", ()
        if status is not None:
            query, args = query + " WHERE status = ?", (status,)  # type: ignore[assignment]
        with self._connect() as db:
            return [dict(row) for row in db.execute(query + " ORDER BY requested_at DESC", args).fetchall()]

    # --- small durable values (the last known-good app-config) ---
    def put(self, key: str, value: Any) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def get_value(self, key: str) -> Any | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row["value"])
