"""Real Prometheus + Alertmanager with deploy/'s rules and routes, the responder service on Kubernetes.

A service stops answering /metrics -> ServiceDown fires after the runbook's 30 s -> Alertmanager's webhook reaches
the responder -> it restarts the Deployment -> the new pods are scraped -> the resolved notification arrives
(at the responder and, in Slack's wire format, at the Slack webhook).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness.kube import Behaviour
from tests.harness.kube_fixtures import KubeNamespace
from tests.harness.monitoring import AlertmanagerServer, WebhookRecorder, alerting_pipeline, wait_for

pytestmark = pytest.mark.integration
APPS = ("phone-gateway", "phone-gateway-backup", "realtime-processor", "conversation-engine")


def test_service_down_alert_drives_the_responder_to_recovery(
    kube_namespace: Callable[..., KubeNamespace], tmp_path: Path
) -> None:
    ns = kube_namespace(APPS)
    simulator = ns.kube.simulator
    with alerting_pipeline(
        tmp_path,
        namespace=ns.name,
        kubeconfig=ns.responder_kubeconfig,
        service_url_template=ns.kube.proxy.url_template,
        write_targets=lambda path: simulator.write_scrape_targets(path, ns.name),
    ) as pipeline:
        prometheus = pipeline.prometheus
        # Our relabelling names each job after the pod's app label: every Deployment's pods are up.
        up = wait_for(
            lambda: {r["metric"]["job"] for r in prometheus.query("up == 1")} >= set(APPS) and prometheus.query("up"),
            60,
            "every pod scraped",
        )
        assert {r["metric"]["namespace"] for r in up} == {ns.name}

        broken = simulator.break_pods(ns.name, "conversation-engine", Behaviour.CRASH_LOOP)
        injected = time.monotonic()
        firing = wait_for(lambda: prometheus.firing("ServiceDown"), 60, "ServiceDown firing")
        fired_after = time.monotonic() - injected
        assert fired_after >= 29  # the runbook's `for: 30s`, not sooner
        assert {a["labels"]["job"] for a in firing} == {"conversation-engine"}
        assert {a["labels"]["pod"] for a in firing} <= set(broken)
        assert not prometheus.firing("CascadingFailure")

        wait_for(lambda: pipeline.notifications("ServiceDown", "firing"), 30, "webhook reached the responder")
        assert all(status == 202 for _, _, status in pipeline.responder_tap.received)
        incident = wait_for(
            lambda: next((i for i in pipeline.incidents() if i["status"] == "resolved"), None),
            60,
            "incident resolved",
        )
        assert incident["services"] == ["conversation-engine"]
        assert incident["source"] == "alertmanager"
        assert [a["kind"] for a in incident["actions"]] == ["restart"]
        assert any(event["kind"] == "alert" or "ServiceDown" in event["message"] for event in incident["timeline"])

        wait_for(lambda: pipeline.notifications("ServiceDown", "resolved"), 60, "resolved notification")

        def slack_titles() -> list[str]:
            return [payload["attachments"][0]["title"] for _, payload, _ in pipeline.slack.received]

        # Each receiver is notified on its own schedule: Slack's resolved message may come a moment later.
        wait_for(lambda: any("RESOLVED" in title for title in slack_titles()), 30, "resolved in Slack")
        assert any("CRITICAL" in title and "ServiceDown" in title for title in slack_titles()), slack_titles()


def test_service_down_inhibits_latency_alerts_of_the_same_service(tmp_path: Path) -> None:
    with WebhookRecorder() as responder, WebhookRecorder() as slack:
        alertmanager = AlertmanagerServer(tmp_path, responder_url=responder.url, slack_url=slack.url).start()
        try:

            def alert(name: str, job: str, severity: str) -> dict[str, Any]:
                return {"labels": {"alertname": name, "job": job, "severity": severity}, "annotations": {}}

            alertmanager.post_alerts(
                [
                    alert("ServiceDown", "phone-gateway", "critical"),
                    alert("HighRequestLatency", "phone-gateway", "warning"),
                    alert("AIResponseLatencyHigh", "phone-gateway", "warning"),
                    alert("HighRequestLatency", "conversation-engine", "warning"),
                    alert("HighErrorRate", "phone-gateway", "critical"),
                ]
            )

            def states() -> dict[tuple[str, str], str]:
                return {
                    (a["labels"]["alertname"], a["labels"]["job"]): a["status"]["state"] for a in alertmanager.alerts()
                }

            found = wait_for(lambda: (s := states()) and len(s) == 5 and s, 15, "alerts accepted")
            found = wait_for(
                lambda: (s := states())[("HighRequestLatency", "phone-gateway")] == "suppressed" and s, 15, "inhibited"
            )
            assert found == {
                ("ServiceDown", "phone-gateway"): "active",
                ("HighRequestLatency", "phone-gateway"): "suppressed",
                ("AIResponseLatencyHigh", "phone-gateway"): "suppressed",
                ("HighRequestLatency", "conversation-engine"): "active",  # another service: not inhibited
                ("HighErrorRate", "phone-gateway"): "active",  # not a latency alert
            }

            # The responder's webhook gets the active ones. group_by is (alertname, job), so each active alert comes
            # in its own notification, on its own schedule: wait for all three before judging what was left out.
            def notified() -> set[tuple[str, str]]:
                return {
                    (a["labels"]["alertname"], a["labels"]["job"])
                    for _, payload, _ in responder.received
                    for a in payload["alerts"]
                }

            active = {key for key, state in found.items() if state == "active"}
            received = wait_for(lambda: (n := notified()) >= active and n, 30, "every active alert notified")
            assert received == active
        finally:
            alertmanager.stop()
