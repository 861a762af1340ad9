"""Alertmanager webhook receiver payload (version 4), as Alertmanager documents it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from answer_ninja.catalogue import SERVICES
from answer_ninja.ops.escalate import is_security_alert
from answer_ninja.ops.responder import AlertSignal


class Alert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's field name
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class AlertmanagerPayload(BaseModel):
    version: Literal["4"]
    groupKey: str = ""  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[Alert] = Field(min_length=1)


def service_of(labels: dict[str, str]) -> str | None:
    """The service an alert is about: ``service``, ``job`` or ``app`` label (Prometheus job = service name)."""
    for key in ("service", "job", "app"):
        value = labels.get(key)
        if value in SERVICES:
            return value
    return None


def signals_from(payload: AlertmanagerPayload) -> list[AlertSignal]:
    """Firing alerts become signals; resolved ones need nothing (the probes see the recovery)."""
    signals = []
    for alert in payload.alerts:
        if alert.status != "firing":
            continue
        service = service_of(alert.labels)
        signals.append(
            AlertSignal(
                services=[service] if service else [],
                alertname=alert.labels.get("alertname", "unnamed"),
                security=is_security_alert(alert.labels),
            )
        )
    return signals
