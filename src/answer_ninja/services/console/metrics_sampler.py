"""The service board's sparklines: every few seconds the console reads each service's Prometheus /metrics (public
by design: Prometheus scrapes it) and keeps the last hour of a few key figures in memory.

Kept in memory on purpose: it is a glance, not a record (Prometheus is the record); a restarted console starts a new
line. Figures: requests per second, mean request latency (ms) over the interval, resident memory (MB), event-loop
lag (ms), requests in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from answer_ninja.catalogue import SERVICES
from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

SAMPLES_KEPT = 360  # an hour at the default 10 s interval
FIGURES = ("requests_per_second", "latency_ms", "rss_mb", "loop_lag_ms", "in_flight")


@dataclass
class Scrape:
    at: float
    requests: float
    latency_sum: float
    latency_count: float
    rss_bytes: float | None
    loop_lag: float | None
    in_flight: float | None


def parse_metrics(text: str, *, at: float) -> Scrape:
    requests = latency_sum = latency_count = 0.0
    rss = lag = in_flight = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, value = sample.name, sample.value
            if name == "ai_ninja_http_requests_total":
                requests += value
            elif name == "ai_ninja_http_request_duration_seconds_sum":
                latency_sum += value
            elif name == "ai_ninja_http_request_duration_seconds_count":
                latency_count += value
            elif name == "process_resident_memory_bytes":
                rss = value
            elif name == "ai_ninja_event_loop_lag_seconds":
                lag = value
            elif name == "ai_ninja_http_requests_in_flight":
                in_flight = (in_flight or 0.0) + value
    return Scrape(at, requests, latency_sum, latency_count, rss, lag, in_flight)


@dataclass
class Series:
    """One service's figures, oldest first (None where a scrape failed)."""

    values: dict[str, deque[float | None]] = field(
        default_factory=lambda: {name: deque(maxlen=SAMPLES_KEPT) for name in FIGURES}
    )
    last: Scrape | None = None
    failures: int = 0

    def add(self, scrape: Scrape | None) -> None:
        if scrape is None:
            self.failures += 1
            for name in FIGURES:
                self.values[name].append(None)
            self.last = None
            return
        previous = self.last
        rate = latency = None
        if previous is not None and scrape.at > previous.at and scrape.requests >= previous.requests:
            rate = (scrape.requests - previous.requests) / (scrape.at - previous.at)
            count = scrape.latency_count - previous.latency_count
            latency = (scrape.latency_sum - previous.latency_sum) / count * 1000 if count > 0 else None
        self.values["requests_per_second"].append(rate)
        self.values["latency_ms"].append(latency)
        self.values["rss_mb"].append(None if scrape.rss_bytes is None else scrape.rss_bytes / 1e6)
        self.values["loop_lag_ms"].append(None if scrape.loop_lag is None else scrape.loop_lag * 1000)
        self.values["in_flight"].append(scrape.in_flight)
        self.last = scrape

    def latest(self, name: str) -> float | None:
        return next((value for value in reversed(self.values[name]) if value is not None), None)


class MetricsSampler:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.series: dict[str, Series] = {name: Series() for name in SERVICES}

    async def scrape(self, client: httpx.AsyncClient, service: str) -> Scrape | None:
        try:
            response = await client.get(self.ctx.settings.service_url(service) + "/metrics")
            response.raise_for_status()
        except httpx.HTTPError:
            return None
        return parse_metrics(response.text, at=time.monotonic())

    async def sample_once(self, client: httpx.AsyncClient) -> None:
        names = list(self.series)
        scrapes = await asyncio.gather(*(self.scrape(client, name) for name in names))
        for name, scrape in zip(names, scrapes, strict=True):
            self.series[name].add(scrape)

    async def run(self) -> None:
        interval = self.ctx.settings.console_metrics_interval_seconds
        async with httpx.AsyncClient(timeout=self.ctx.settings.dependency_timeout_seconds) as client:
            while True:
                try:
                    await self.sample_once(client)
                except Exception as error:  # a bad scrape is a gap in a sparkline
                    log.warning("metrics_sample_failed", error=type(error).__name__)
                await asyncio.sleep(interval)


def sampler_of(ctx: ServiceContext) -> MetricsSampler:
    sampler = ctx.extras.get("metrics_sampler")
    if not isinstance(sampler, MetricsSampler):
        sampler = MetricsSampler(ctx)
        ctx.extras["metrics_sampler"] = sampler
    return sampler
