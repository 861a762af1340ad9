from __future__ import annotations

from collections import Counter

from answer_ninja.calls.ngram import ComplementNaiveBayes, grams

EXAMPLES = [
    ("low interest loan today", "loan"),
    ("personal loan approved", "loan"),
    ("cheap loan offer", "loan"),
    ("survey about shopping", "survey"),
    ("quick survey questions", "survey"),
    ("answer a short survey", "survey"),
]


def test_grams_are_1_to_3_characters_inside_each_token() -> None:
    assert grams("ab") == Counter({"a": 1, "b": 1, " a": 1, "b ": 1, "ab": 1, " ab": 1, "ab ": 1})
    assert grams("贷款") == grams(" 贷款 ")
    assert "b c" not in grams("ab cd"), "no gram crosses a word boundary"


def test_learns_labels_from_examples_and_tolerates_a_misspelling() -> None:
    model = ComplementNaiveBayes.train(EXAMPLES)
    assert set(model.labels) == {"loan", "survey"}
    assert model.predict("lone offer today").label == "loan"
    assert model.predict("servey questions").label == "survey"


def test_margin_is_zero_when_nothing_is_known() -> None:
    model = ComplementNaiveBayes.train(EXAMPLES)
    assert model.predict("777").margin == 0.0
