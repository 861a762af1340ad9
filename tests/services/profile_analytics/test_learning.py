from __future__ import annotations

import pytest

from answer_ninja.services.profile_analytics.learning import Evidence, assess, is_legitimate_intent, is_spam_intent


def test_no_evidence_is_even_odds_with_no_confidence() -> None:
    result = assess(Evidence(0, 0, 0, 0), {})
    assert (result.risk_score, result.confidence, result.category) == (0.5, 0.0, "unknown")


def test_two_spam_reports_cross_the_default_threshold() -> None:
    result = assess(Evidence(total_calls=0, spam_calls=0, spam_reports=2, not_spam_reports=0), {"loan": 2})
    assert result.risk_score == pytest.approx(5 / 6, abs=1e-4)
    assert result.risk_score >= 0.8
    assert result.category == "loan"
    assert result.confidence == pytest.approx(4 / 9, abs=1e-4)


def test_not_spam_reports_and_clean_calls_pull_the_risk_down() -> None:
    spammy = assess(Evidence(total_calls=3, spam_calls=3, spam_reports=0, not_spam_reports=0), {})
    redeemed = assess(Evidence(total_calls=3, spam_calls=3, spam_reports=0, not_spam_reports=2), {})
    clean = assess(Evidence(total_calls=10, spam_calls=0, spam_reports=0, not_spam_reports=0), {})
    assert spammy.risk_score == pytest.approx(0.8)
    assert redeemed.risk_score < spammy.risk_score
    assert clean.risk_score == pytest.approx(1 / 12, abs=1e-4)
    assert clean.confidence > spammy.confidence


def test_category_is_the_most_frequent_known_one() -> None:
    assert assess(Evidence(5, 5, 0, 0), {"sales": 2, "loan": 3, "unknown": 9}).category == "loan"
    assert assess(Evidence(5, 5, 0, 0), {"sales": 2, "loan": 2}).category == "loan"  # ties: alphabetical, stable


def test_intent_classes() -> None:
    assert is_spam_intent("Loan")
    assert not is_spam_intent("legitimate")
    assert not is_spam_intent(None)
    assert is_spam_intent("real_estate")
    assert not is_spam_intent("unknown")
    assert not is_spam_intent("not-an-intent")
    assert is_legitimate_intent("legitimate")
    assert not is_legitimate_intent("sales")
