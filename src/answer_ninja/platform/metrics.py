"""Prometheus metrics shared by every service: HTTP traffic per route and status, event-loop lag, build info.

Metrics are module-level (one registry per process, as prometheus-client intends); the ``service`` label
keeps several apps in one test process apart. Services add their own ``ai_ninja_*`` metrics in their modules.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "ai_ninja_http_requests_total",
    "HTTP requests served, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ai_ninja_http_request_duration_seconds",
    "HTTP request latency, by route template and status code.",
    ["service", "method", "route", "status"],
    # Decisions are meant to take milliseconds; the low buckets make p99 under 10 ms visible.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge("ai_ninja_http_requests_in_flight", "Requests being served now.", ["service"])
EVENT_LOOP_LAG = Gauge("ai_ninja_event_loop_lag_seconds", "Latest measured event-loop lag.", ["service"])
SERVICE_INFO = Gauge("ai_ninja_service_info", "Constant 1, labelled with the build.", ["service", "version"])
DEGRADED = Gauge("ai_ninja_degraded", "1 while the service runs degraded.", ["service"])
DEPENDENCY_UP = Gauge(
    "ai_ninja_dependency_up",
    "1 if the last readiness check of a dependency passed.",
    ["service", "dependency"],
)


def render_latest() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path) counting HTTP requests."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self.in_flight = HTTP_IN_FLIGHT.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.in_flight.dec()
            route = scope.get("route")
            # The template (/api/v1/conversation/{call_id}), never the raw path: bounded label cardinality.
            template = getattr(route, "path", "unmatched")
            labels = (self.service, scope["method"], template, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)
