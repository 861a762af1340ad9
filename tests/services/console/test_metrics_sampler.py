"""The board's figures come from Prometheus text: rates and mean latency between two scrapes."""

from __future__ import annotations

from answer_ninja.services.console.metrics_sampler import Series, parse_metrics

TEXT = """# TYPE ai_ninja_http_requests_total counter
ai_ninja_http_requests_total{{service="x",route="/a",method="GET",status="200"}} {requests}
# TYPE ai_ninja_http_request_duration_seconds histogram
ai_ninja_http_request_duration_seconds_sum{{service="x",route="/a",method="GET"}} {seconds}
ai_ninja_http_request_duration_seconds_count{{service="x",route="/a",method="GET"}} {requests}
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 9.0e7
# TYPE ai_ninja_event_loop_lag_seconds gauge
ai_ninja_event_loop_lag_seconds{{service="x"}} 0.002
"""


def test_rate_latency_memory_and_lag_between_two_scrapes() -> None:
    series = Series()
    series.add(parse_metrics(TEXT.format(requests=100, seconds=1.0), at=10.0))
    series.add(parse_metrics(TEXT.format(requests=150, seconds=2.0), at=20.0))
    assert series.latest("requests_per_second") == 5.0  # 50 requests in 10 s
    assert series.latest("latency_ms") == 20.0  # 1 s more over 50 requests
    assert series.latest("rss_mb") == 90.0
    assert series.latest("loop_lag_ms") == 2.0


def test_a_failed_scrape_is_a_gap_and_a_restart_is_not_a_negative_rate() -> None:
    series = Series()
    series.add(parse_metrics(TEXT.format(requests=100, seconds=1.0), at=10.0))
    series.add(None)
    assert list(series.values["requests_per_second"]) == [None, None]
    series.add(parse_metrics(TEXT.format(requests=5, seconds=0.1), at=30.0))  # the service restarted
    assert series.values["requests_per_second"][-1] is None
    assert series.failures == 1
