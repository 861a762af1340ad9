"""Error rates: characters for Mandarin (numbers as spoken), words for English."""

from __future__ import annotations

from answer_ninja.speech.scoring import edit_distance, error_rate, units


def test_mandarin_counts_characters_and_reads_digits_as_numerals() -> None:
    assert units("最高可以贷50万。", "zh-CN") == list("最高可以贷五十万")
    assert error_rate("最高可以贷五十万。", "最高可以贷50万", "zh-CN") == 0.0
    assert error_rate("利息很低", "力气很低", "zh-CN") == 0.5


def test_english_counts_words_without_case_or_punctuation() -> None:
    assert units("Hello, World!", "en-US") == ["hello", "world"]
    assert error_rate("he was not an ill disposed young man", "he was not ill disposed young men", "en-US") == 2 / 8


def test_edit_distance_counts_insertions_deletions_and_substitutions() -> None:
    assert edit_distance(list("abc"), list("abc")) == 0
    assert edit_distance(list("abc"), list("axcd")) == 2
    assert edit_distance([], list("ab")) == 2
