from __future__ import annotations

import pytest

from answer_ninja.services.profile_analytics.learning import (
    Evidence,
    Reports,
    agrees,
    assess,
    explain,
    is_legitimate_intent,
    is_spam_intent,
    standing,
)


def test_no_evidence_is_even_odds_with_no_confidence() -> None:
    result = assess(Evidence(0, 0), {})
    assert (result.risk_score, result.confidence, result.category) == (0.5, 0.0, "unknown")


def test_two_fresh_accounts_reporting_a_number_change_nothing_for_others() -> None:
    """Issue 10's attack: two accounts that never received a call from the number report it as spam."""
    weight = standing(received_call=False, days_receiving_calls=400, agreed=50, disagreed=0)
    evidence = Evidence(total_calls=0, spam_calls=0, spam_reports=Reports(received=2, weighted=0, weight=0.0))
    result = assess(evidence, {"loan": 2})
    assert weight == 0.0
    assert result.risk_score == 0.5
    assert result.risk_score < 0.8
    explained = explain(evidence, result)
    assert explained["spam_reports"]["counted"] is False
    assert explained["spam_reports"]["reporters"] == 2
    assert "not counted" in explained["spam_reports"]["why"]


def test_two_established_reporters_are_still_below_the_minimum() -> None:
    evidence = Evidence(total_calls=2, spam_calls=0, spam_reports=Reports(received=2, weighted=2, weight=2.0))
    assert not evidence.spam_reports.counted
    assert assess(evidence, {}).risk_score < 0.5  # two clean calls, reports not counted


def test_three_established_reporters_who_received_its_calls_take_it_past_the_threshold() -> None:
    reports = Reports(received=3, weighted=3, weight=3.0)
    evidence = Evidence(total_calls=0, spam_calls=0, spam_reports=reports)
    result = assess(evidence, {"loan": 3})
    assert result.risk_score == pytest.approx(7 / 8, abs=1e-4)
    assert result.risk_score >= 0.8
    assert result.category == "loan"
    assert explain(evidence, result)["spam_reports"]["counted"] is True


def test_weights_scale_counted_reports() -> None:
    light = assess(Evidence(0, 0, Reports(3, 3, 0.3)), {})
    heavy = assess(Evidence(0, 0, Reports(3, 3, 3.0)), {})
    assert 0.5 < light.risk_score < heavy.risk_score


def test_standing_grows_with_tenure_and_shrinks_with_disagreement() -> None:
    fresh = standing(received_call=True, days_receiving_calls=0, agreed=0, disagreed=0)
    week = standing(received_call=True, days_receiving_calls=7, agreed=0, disagreed=0)
    full = standing(received_call=True, days_receiving_calls=30, agreed=0, disagreed=0)
    contrarian = standing(received_call=True, days_receiving_calls=30, agreed=1, disagreed=3)
    assert (fresh, week, full) == (0.0, 0.5, 1.0)
    assert contrarian == pytest.approx(2 / 5)


def test_agreement_needs_a_view() -> None:
    assert agrees("spam", 0.9) is True
    assert agrees("not_spam", 0.9) is False
    assert agrees("not_spam", 0.1) is True
    assert agrees("spam", 0.5) is None


def test_not_spam_reports_and_clean_calls_pull_the_risk_down() -> None:
    spammy = assess(Evidence(total_calls=3, spam_calls=3), {})
    redeemed = assess(Evidence(total_calls=3, spam_calls=3, not_spam_reports=Reports(3, 3, 3.0)), {})
    clean = assess(Evidence(total_calls=10, spam_calls=0), {})
    assert spammy.risk_score == pytest.approx(0.8)
    assert redeemed.risk_score < spammy.risk_score
    assert clean.risk_score == pytest.approx(1 / 12, abs=1e-4)
    assert clean.confidence > spammy.confidence


def test_category_is_the_most_frequent_known_one() -> None:
    assert assess(Evidence(5, 5), {"sales": 2, "loan": 3, "unknown": 9}).category == "loan"
    assert assess(Evidence(5, 5), {"sales": 2, "loan": 2}).category == "loan"  # ties: alphabetical, stable


def test_intent_classes() -> None:
    assert is_spam_intent("Loan")
    assert not is_spam_intent("legitimate")
    assert not is_spam_intent(None)
    assert is_spam_intent("real_estate")
    assert not is_spam_intent("unknown")
    assert not is_spam_intent("not-an-intent")
    assert is_legitimate_intent("legitimate")
    assert not is_legitimate_intent("sales")
