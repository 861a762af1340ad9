"""Who may open a connection to whom inside the cluster: one table, written out as Kubernetes NetworkPolicies
(``answer-ninja kube network-policies --write deploy/k8s/base/network-policies.yaml``).

The namespace denies all ingress by default; each service's port then admits only the callers it needs:

* ``CALLS``: which service calls which, read from the code (each service's HTTP clients and its /ready probes;
  ``tests/platform/test_network_plane.py`` checks every ``service_caller(...)`` rule in the routes against it).
  The console's status page and metrics sampler read every service's /health and /metrics, and the responder
  checks, verifies and steers every service, so both reach every service.
* ``OUTSIDE``: who comes from outside the namespace: the ingress controller (carriers' webhooks and media streams,
  the public API, people's browsers), Prometheus (``/metrics``, on each service's own port) and Alertmanager (the
  responder's ``/alerts``). Their namespaces and labels are below; change them to match the cluster.
* ``DATASTORES``: PostgreSQL and Redis when they run in the namespace (the dev overlay), open to the services
  that use them.

A NetworkPolicy is enforced by the cluster's network plugin (CNI), not the API server: on a cluster whose CNI does
not enforce them (kindnet, flannel) these objects change nothing. The production checklist says so.
Kubelet probes come from the node, which CNIs that enforce policies allow by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from answer_ninja.catalogue import SERVICES

NAMESPACE = "ai-ninja"
# The failover copy of phone-gateway: same code, same callers, same calls, its own app label.
ALIASES: dict[str, str] = {"phone-gateway-backup": "phone-gateway"}

# caller -> the services it opens connections to (HTTP clients and /ready probes in the code).
CALLS: dict[str, tuple[str, ...]] = {
    # routing data, caller profiles, realtime-processor's readiness and "how did the stream end?"
    "phone-gateway": ("user-management", "profile-analytics", "realtime-processor"),
    # replies, the finished call's learning, call status and hang-up
    "realtime-processor": ("conversation-engine", "profile-analytics", "phone-gateway"),
    # notification channels and learned whitelist entries; the call record
    "profile-analytics": ("user-management", "phone-gateway"),
    "conversation-engine": (),
    "user-management": (),
    # people's pages over the services' APIs, live events, the status page (/health of all), the metrics sampler
    "console": tuple(name for name in SERVICES if name != "console"),
    # the runbook: health checks, verification, voice status, remediation
    "responder": tuple(name for name in SERVICES if name != "responder"),
}


@dataclass(frozen=True)
class Peer:
    """A source outside the namespace: pods with ``pod_labels`` in the namespace named ``namespace``."""

    name: str
    namespace: str
    pod_labels: tuple[tuple[str, str], ...]

    def selector(self) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}},
            "podSelector": {"matchLabels": dict(self.pod_labels)},
        }


INGRESS = Peer("ingress", "ingress-nginx", (("app.kubernetes.io/name", "ingress-nginx"),))
PROMETHEUS = Peer("prometheus", "monitoring", (("app.kubernetes.io/name", "prometheus"),))
ALERTMANAGER = Peer("alertmanager", "monitoring", (("app.kubernetes.io/name", "alertmanager"),))

# service -> who reaches it from outside the namespace (Prometheus reaches every service: /metrics).
OUTSIDE: dict[str, tuple[Peer, ...]] = {
    "phone-gateway": (INGRESS, PROMETHEUS),  # carriers' webhooks
    "realtime-processor": (INGRESS, PROMETHEUS),  # carriers' media streams
    "conversation-engine": (PROMETHEUS,),
    "profile-analytics": (PROMETHEUS,),
    "user-management": (INGRESS, PROMETHEUS),  # the public API (sign-in, settings, whitelist)
    "console": (INGRESS, PROMETHEUS),  # people's browsers
    "responder": (ALERTMANAGER, PROMETHEUS),  # Alertmanager's webhook
}

# In-namespace datastores (the dev overlay) -> their port and the services that use them.
_DATABASE_USERS = ("phone-gateway", "realtime-processor", "profile-analytics", "user-management")
DATASTORES: dict[str, tuple[int, tuple[str, ...]]] = {
    "postgres": (5432, _DATABASE_USERS),
    "redis": (6379, (*_DATABASE_USERS, "conversation-engine", "console")),
}


def callers_of(service: str) -> tuple[str, ...]:
    """The in-namespace services (by app label, aliases included) allowed to connect to ``service``."""
    target = ALIASES.get(service, service)
    names = [caller for caller, called in CALLS.items() if target in called]
    names += [alias for alias, original in ALIASES.items() if original in names]
    return tuple(sorted(names))


def port_of(service: str) -> int:
    return SERVICES[ALIASES.get(service, service)].port


def _app(name: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {"app": name}}}


def _policy(name: str, app: str, port: int, sources: list[dict[str, Any]], comment: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "annotations": {"ai-ninja/allows": comment}},
        "spec": {
            "podSelector": {"matchLabels": {"app": app}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": port}]}],
        },
    }


def policies() -> list[dict[str, Any]]:
    """Every NetworkPolicy of the namespace: default deny, then one per service and datastore."""
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    ]
    for service in (*SERVICES, *ALIASES):
        callers = callers_of(service)
        outside = OUTSIDE[ALIASES.get(service, service)]
        sources = [_app(caller) for caller in callers] + [peer.selector() for peer in outside]
        comment = ", ".join([*callers, *(peer.name for peer in outside)])
        documents.append(_policy(f"{service}-ingress", service, port_of(service), sources, comment))
    for store, (port, users) in DATASTORES.items():
        clients = sorted({*users, *(alias for alias, original in ALIASES.items() if original in users)})
        documents.append(_policy(f"{store}-ingress", store, port, [_app(c) for c in clients], ", ".join(clients)))
    return documents


HEADER = (
    "# Generated by `answer-ninja kube network-policies --write deploy/k8s/base/network-policies.yaml` from\n"
    "# src/answer_ninja/platform/network_plane.py (who calls whom); do not edit by hand.\n"
    "# Enforced only by a CNI that implements NetworkPolicy (Calico, Cilium, ...): see docs/security.md.\n"
)


def render() -> str:
    import yaml

    return HEADER + yaml.safe_dump_all(policies(), sort_keys=False, explicit_start=True)
