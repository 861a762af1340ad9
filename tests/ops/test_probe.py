"""The flap rule and provider check parsing."""

from __future__ import annotations

import pytest

from answer_ninja.ops.probe import FlapFilter, parse_provider_checks


def test_a_flapping_probe_is_not_an_incident() -> None:
    flaps = FlapFilter(failures=3, window_seconds=30)
    results = [False, True, False, True, False, True, False]
    assert not any(flaps.record("svc", ok, float(t)) for t, ok in enumerate(results))


def test_three_failures_in_a_row_within_the_window_confirm() -> None:
    flaps = FlapFilter(failures=3, window_seconds=30)
    assert [flaps.record("svc", False, t) for t in (0.0, 1.0, 2.0)] == [False, False, True]
    assert flaps.first_failure("svc") == 0.0
    assert flaps.record("svc", True, 3.0) is False
    assert flaps.first_failure("svc") is None


def test_failures_spread_wider_than_the_window_do_not_confirm() -> None:
    flaps = FlapFilter(failures=3, window_seconds=10)
    assert [flaps.record("svc", False, t) for t in (0.0, 20.0, 40.0)] == [False, False, False]


def test_provider_checks_parse_and_name_bad_items() -> None:
    assert parse_provider_checks("llm=http://127.0.0.1:8080/v1/models, speech=https://x/") == {
        "llm": "http://127.0.0.1:8080/v1/models",
        "speech": "https://x/",
    }
    with pytest.raises(ValueError, match="RESPONDER_PROVIDER_CHECKS"):
        parse_provider_checks("llm=ftp://nope")
