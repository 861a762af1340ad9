"""deploy/prometheus and deploy/alertmanager checked by their own tools (promtool, amtool) and the runbook's text."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.harness.kube import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "ai-ninja-services.json"
RUNBOOK_EXPR = 'up{job=~"phone-gateway|realtime-processor|conversation-engine|profile-analytics"} == 0'


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (scripts/system-packages.txt lists it; run make system-deps)")
    return found


def run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "rules" / "ai-ninja.rules.yml").read_text())["groups"]
    return {rule.get("alert") or rule["record"]: rule for group in groups for rule in group["rules"]}


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = tool("promtool")
    assert "SUCCESS" in run(promtool, "check", "rules", "rules/ai-ninja.rules.yml")
    assert "SUCCESS" in run(promtool, "test", "rules", "tests/ai-ninja.rules.test.yml")


def test_service_down_is_the_runbooks_rule_exactly() -> None:
    rule = rules()["ServiceDown"]
    assert rule["expr"] == RUNBOOK_EXPR
    assert rule["for"] == "30s"
    assert rule["labels"]["severity"] == "critical"


def test_latency_and_error_rules_use_our_metrics() -> None:
    found = rules()
    exprs = " ".join(str(rule["expr"]) for rule in found.values())
    for metric in (
        "ai_ninja_http_request_duration_seconds",
        "ai_ninja_http_requests_total",
        "ai_response_latency_seconds",
    ):
        assert metric in exprs
    assert {"CascadingFailure", "HighRequestLatency", "HighErrorRate", "AIResponseLatencyHigh"} <= set(found)


def test_scrape_config_keeps_the_rules_and_names_jobs_by_app_label() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]
    relabel = config["scrape_configs"][0]["relabel_configs"]
    assert {"source_labels": ["__meta_kubernetes_pod_label_app"], "target_label": "job"} in relabel


def test_alertmanager_config_routes_to_responder_and_slack() -> None:
    amtool = tool("amtool")
    assert "SUCCESS" in run(amtool, "check-config", str(ALERTMANAGER))
    routed = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        "alertname=ServiceDown",
        "severity=critical",
        "job=phone-gateway",
    )
    assert routed.strip() == "responder,slack"
    config = yaml.safe_load(ALERTMANAGER.read_text())
    webhook = next(r for r in config["receivers"] if r["name"] == "responder")["webhook_configs"][0]
    assert webhook == {
        "url": "http://responder:3009/alerts",
        "send_resolved": True,
        "max_alerts": 50,
        # The responder refuses alerts without ALERTMANAGER_TOKEN; the token is a mounted file, never inline.
        "http_config": {
            "authorization": {"type": "Bearer", "credentials_file": "/etc/alertmanager/secrets/alertmanager-token"}
        },
    }
    slack = next(r for r in config["receivers"] if r["name"] == "slack")["slack_configs"][0]
    assert slack["send_resolved"] is True
    assert "api_url" not in slack  # the webhook URL is a secret: read from a mounted file
    inhibit = config["inhibit_rules"][0]
    assert inhibit["source_matchers"] == ['alertname="ServiceDown"']
    assert inhibit["equal"] == ["job"]


def test_dashboard_is_valid_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "ai-ninja-services"
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panel {panel['title']!r} overlaps another"
                cells.add((x, y))
        assert panel["targets"]
        assert all(target["expr"] for target in panel["targets"])
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert {"datasource", "service"} <= variables


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_dashboard_metrics_exist() -> None:
    """Every metric a panel plots is one our services export or one our rules record."""
    known = set(rules()) | {"up", "ALERTS"}
    from answer_ninja.platform import metrics

    for collector in vars(metrics).values():
        name = getattr(collector, "_name", None)
        if isinstance(name, str):
            known |= {name, name + "_total", name + "_bucket"}
    for expr in dashboard_exprs():
        names = {token for token in _identifiers(expr) if token.startswith(("ai_", "job:", "up", "ALERTS"))}
        assert names <= known, f"unknown metric in {expr!r}: {names - known}"


def _identifiers(expr: str) -> list[str]:
    import re

    return re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*(?=\s*[{\[(]|\s*$|\s*\))", expr)
