"""Intent classification on the labelled utterance set: the accuracy floor, the scam rule, explainability."""

from __future__ import annotations

from collections import Counter

import pytest

from answer_ninja.calls.intents import classify, classify_by_patterns, normalise
from answer_ninja.calls.vocabulary import Intent, Language
from answer_ninja.services.conversation_engine.understanding import load_labelled, packaged_ngram

# The issue asks for at least 95% on the labelled set; the benchmark prints the exact figure and the matrix.
ACCURACY_FLOOR = 0.95
# The held-out sets, never tuned or trained on (docs/conversation-engine.md), are the honest figure: 95.1% over
# both (214/225) when these floors were set, 90.8% on the unseen set and 96.9% on the holdout set. The floors
# sit at or just under those figures, so a change that makes the classifier generalise worse fails here.
HELD_OUT_FLOOR = 0.95
UNSEEN_FLOOR = 0.90
HOLDOUT_FLOOR = 0.95

LABELLED = load_labelled("intents.jsonl")
LATER = load_labelled("intents_later.jsonl")
MORE = load_labelled("intents_more.jsonl")
UNSEEN = load_labelled("intents_unseen.jsonl")
HOLDOUT = load_labelled("intents_holdout.jsonl")
MODEL = packaged_ngram()


def test_the_labelled_set_is_big_varied_and_covers_both_languages_and_every_intent() -> None:
    assert len(LABELLED) >= 300
    by_language = Counter(row["language"] for row in LABELLED)
    assert by_language["zh-CN"] >= 150
    assert by_language["en-US"] >= 100
    assert {row["intent"] for row in LABELLED} == {intent.value for intent in Intent}
    assert len({row["text"] for row in LABELLED}) == len(LABELLED), "no duplicates"


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
@pytest.mark.parametrize("rows", [LABELLED, LATER], ids=["labelled", "later"])
def test_accuracy_floor_per_language(rows: list[dict[str, str]], language: str) -> None:
    selected = [row for row in rows if row["language"] == language]
    wrong = [
        (row["intent"], got.value, row["text"])
        for row in selected
        if (got := classify(row["text"], Language(language), ngram=MODEL).intent).value != row["intent"]
    ]
    accuracy = 1 - len(wrong) / len(selected)
    assert accuracy >= ACCURACY_FLOOR, f"{accuracy:.3f} < {ACCURACY_FLOOR}: {wrong[:10]}"


def held_out_accuracy(rows: list[dict[str, str]]) -> float:
    right = [classify(row["text"], ngram=MODEL).intent.value == row["intent"] for row in rows]
    return sum(right) / len(right)


def test_held_out_accuracy_floors() -> None:
    assert held_out_accuracy(UNSEEN + HOLDOUT) >= HELD_OUT_FLOOR
    assert held_out_accuracy(UNSEEN) >= UNSEEN_FLOOR
    assert held_out_accuracy(HOLDOUT) >= HOLDOUT_FLOOR


def test_the_holdout_set_is_big_and_covers_both_languages_and_every_intent() -> None:
    assert len(HOLDOUT) >= 150
    assert Counter(row["language"] for row in HOLDOUT)["en-US"] >= 50
    assert {row["intent"] for row in HOLDOUT} == {intent.value for intent in Intent}
    training = {row["text"] for row in LABELLED + LATER + MORE}
    assert not [row["text"] for row in HOLDOUT + UNSEEN if row["text"] in training], "held out means not trained on"


def test_no_scam_in_any_set_is_ever_called_legitimate() -> None:
    scams = [row for row in LABELLED + LATER + MORE + UNSEEN + HOLDOUT if row["intent"] == "scam"]
    assert len(scams) >= 120
    for row in scams:
        assert classify(row["text"], ngram=MODEL).intent is not Intent.LEGITIMATE, row["text"]
        assert classify(row["text"]).intent is not Intent.LEGITIMATE, row["text"]


@pytest.mark.parametrize(
    "text",
    [
        "您好这里是您的银行，您的快递到了，请把验证码告诉我",  # legitimate words, a scam request
        "hi mom it's your son, please tell me the code you just got",
        "您好，我是医院的，您家人住院了，需要马上转到这个账户",
    ],
)
def test_a_scam_request_vetoes_a_legitimate_looking_call(text: str) -> None:
    assert classify(text).intent is Intent.SCAM
    assert classify(text, ngram=MODEL).intent is Intent.SCAM


def test_language_is_detected_when_not_given() -> None:
    assert classify("您好，我们有低息贷款").language is Language.ZH_CN
    assert classify("we have a low interest loan").language is Language.EN_US


def test_the_evidence_names_the_words_that_decided() -> None:
    result = classify("您好，我们有一个理财产品，年化收益很高")
    assert result.intent is Intent.INVESTMENT
    assert "理财" in result.evidence


def test_no_evidence_means_unknown_with_modest_confidence() -> None:
    result = classify("喂？喂？")
    assert result.intent is Intent.UNKNOWN
    assert result.confidence < 0.7
    assert classify("？？……", ngram=MODEL).intent is Intent.UNKNOWN, "nothing to go on: the model abstains"


def test_a_word_that_names_the_intent_decides_otherwise_the_model_does() -> None:
    named = classify("我们有低息贷款", ngram=MODEL)
    assert (named.intent, named.method) == (Intent.LOAN, "patterns")
    assert (
        classify_by_patterns("hello, new restaurant opening, here is a voucher", Language.EN_US).intent
        is Intent.UNKNOWN
    )
    assert classify_by_patterns("hi it is your brother, call me back tonight", Language.EN_US).intent is Intent.UNKNOWN
    assert classify_by_patterns("hey it is me, call me back when you get this", Language.EN_US).intent is Intent.UNKNOWN
    by_model = classify("hey it is me, call me back when you get this", ngram=MODEL)
    assert (by_model.intent, by_model.method) == (Intent.LEGITIMATE, "ngram")
    assert 0.3 <= by_model.confidence <= 0.95


def test_more_evidence_means_more_confidence() -> None:
    weak = classify("we have a deal for you")
    strong = classify("pre-approved personal loan, low interest rate, no credit check")
    assert strong.confidence > weak.confidence


def test_asr_spacing_and_homophones_are_tolerated() -> None:
    assert classify("我们 这边 有个 代款 业务 利息 很低").intent is Intent.LOAN
    assert normalise("你 好，  贷 款！", Language.ZH_CN) == "你好贷款"
    assert classify("calling about your insurants policy").intent is Intent.INSURANCE
