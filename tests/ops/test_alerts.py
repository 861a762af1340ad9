"""Alertmanager's webhook payload (version 4) becomes responder signals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from answer_ninja.ops.alerts import AlertmanagerPayload, signals_from

PAYLOAD = {
    "version": "4",
    "groupKey": '{}:{alertname="ServiceDown"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "responder",
    "groupLabels": {"alertname": "ServiceDown"},
    "commonLabels": {"alertname": "ServiceDown", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "ServiceDown", "job": "phone-gateway", "severity": "critical"},
            "annotations": {"summary": "phone-gateway down"},
            "startsAt": "2026-11-29T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            "fingerprint": "abc",
        },
        {"status": "resolved", "labels": {"alertname": "ServiceDown", "job": "profile-analytics"}},
        {"status": "firing", "labels": {"alertname": "UnauthorizedAccess", "service": "user-management"}},
    ],
}


def test_firing_alerts_become_signals_for_their_service() -> None:
    signals = signals_from(AlertmanagerPayload.model_validate(PAYLOAD))
    assert [(s.alertname, s.services, s.security) for s in signals] == [
        ("ServiceDown", ["phone-gateway"], False),
        ("UnauthorizedAccess", ["user-management"], True),
    ]


def test_other_payload_versions_are_refused() -> None:
    with pytest.raises(ValidationError, match="version"):
        AlertmanagerPayload.model_validate({**PAYLOAD, "version": "3"})
