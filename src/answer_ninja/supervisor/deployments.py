"""What the supervisor deploys per service, kept on disk: revisions, replicas, memory limit, traffic routes.

The local counterpart of a Deployment's rollout history: a revision is the template a service starts with
(environment overrides and, optionally, a whole argv), numbered like ``kubectl rollout history``. Rolling back
makes an older template current again. Everything survives a supervisor restart (``deployments.json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class RevisionRecord:
    number: int
    change_cause: str
    created_at: str
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] | None = None


@dataclass
class Deployment:
    revisions: list[RevisionRecord]
    current: int = 1
    replicas: int = 1
    memory_limit_mb: int | None = None

    @classmethod
    def initial(cls) -> Deployment:
        return cls(revisions=[RevisionRecord(1, "initial", datetime.now(UTC).isoformat())])

    def revision(self, number: int) -> RevisionRecord:
        for record in self.revisions:
            if record.number == number:
                return record
        raise KeyError(f"no revision {number}; have {[r.number for r in self.revisions]}")

    @property
    def current_revision(self) -> RevisionRecord:
        return self.revision(self.current)

    def add_revision(self, *, env: dict[str, str], argv: list[str] | None, change_cause: str) -> RevisionRecord:
        number = max(record.number for record in self.revisions) + 1
        record = RevisionRecord(number, change_cause, datetime.now(UTC).isoformat(), dict(env), argv)
        self.revisions.append(record)
        self.current = number
        return record

    def rollback(self, to: int | None = None) -> RevisionRecord:
        """Make revision ``to`` current, or the newest one older than the current (``rollout undo``)."""
        if to is None:
            older = [record.number for record in self.revisions if record.number < self.current]
            if not older:
                raise KeyError(f"revision {self.current} has no previous revision")
            to = max(older)
        target = self.revision(to)
        self.current = target.number
        return target


class DeploymentBook:
    """Every service's Deployment plus the traffic routes, persisted atomically as JSON."""

    def __init__(self, path: Path, services: list[str]) -> None:
        self.path = path
        self.deployments: dict[str, Deployment] = {}
        # Which process answers for a service's address: itself, or its backup after a failover.
        self.routes: dict[str, str] = {}
        raw: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        for name, stored in raw.get("deployments", {}).items():
            revisions = [RevisionRecord(**record) for record in stored.pop("revisions")]
            self.deployments[name] = Deployment(revisions=revisions, **stored)
        self.routes.update(raw.get("routes", {}))
        for name in services:
            self.deployments.setdefault(name, Deployment.initial())

    def get(self, service: str) -> Deployment:
        try:
            return self.deployments[service]
        except KeyError:
            raise KeyError(f"unknown service {service!r}") from None

    def route(self, service: str) -> str:
        return self.routes.get(service, service)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "deployments": {name: asdict(deployment) for name, deployment in self.deployments.items()},
            "routes": self.routes,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload, indent=1, sort_keys=True))
        temporary.replace(self.path)
