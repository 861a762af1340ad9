from __future__ import annotations

from collections import Counter

from answer_ninja.calls.ngram import ComplementNaiveBayes, features, grams, words
from answer_ninja.calls.vocabulary import Language

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


def char_grams(text: str) -> set[str]:
    return set(grams(text))


def test_english_features_are_words_and_word_pairs_mandarin_features_character_grams() -> None:
    assert words("low interest loan") == {"w:low", "w:interest", "w:loan", "b:low_interest", "b:interest_loan"}
    assert features("low interest", Language.EN_US) == frozenset({"w:low", "w:interest", "b:low_interest"})
    assert features("贷款", Language.ZH_CN) == frozenset(grams("贷款"))


def test_learns_labels_from_examples_and_tolerates_a_misspelling() -> None:
    model = ComplementNaiveBayes.train((char_grams(text), label) for text, label in EXAMPLES)
    assert set(model.labels) == {"loan", "survey"}
    assert model.predict(char_grams("lone offer today")).label == "loan"
    assert model.predict(char_grams("servey questions")).label == "survey"


def test_a_feature_counts_once_per_utterance() -> None:
    model = ComplementNaiveBayes.train((words(text), label) for text, label in EXAMPLES)
    assert model.scores(["w:loan"]) == model.scores(["w:loan", "w:loan"])
    assert model.predict(words("a cheap loan")).label == "loan"


def test_margin_is_zero_when_nothing_is_known() -> None:
    model = ComplementNaiveBayes.train((char_grams(text), label) for text, label in EXAMPLES)
    assert model.predict(char_grams("777")).margin == 0.0
