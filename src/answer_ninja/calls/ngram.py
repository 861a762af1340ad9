"""A Complement Naive Bayes model over n-gram features, trained at start-up from the labelled utterances.

Features per language, chosen by 5-fold cross-validation (bench/conversation_bench.py, docs):
- Mandarin: 1-3 character grams. It has no spaces and ASR errors change single characters (代款 for 贷款), so
  character grams still overlap where whole words would not.
- English: words and word pairs ("credit check", "your appointment"). Character grams of English mostly
  encode spelling shared by every intent; words cut the cross-validated error by a third. Misspellings that
  matter are in the patterns (``lexicon``).
Each feature counts once per utterance (present or not): a word repeated by a hesitant caller is not more
evidence. Complement NB (Rennie et al., 2003) estimates each intent from all the *other* intents' text, which
suits a small, uneven labelled set. Training on ~600 utterances takes well under 0.1 s, so the model is rebuilt
from the packaged data instead of being stored.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from answer_ninja.calls.vocabulary import Language

# Character grams from 1 to this length (measured: 3 beats 2 and 4 on the later sets, see the benchmark).
MAX_GRAM = 3
# Additive smoothing. The model alone, trained on two training sets and tested on the third author's (mean of
# two such splits): 0.3 -> 81.8%, 0.5 -> 81.3%, 1 -> 81.3%, 3 -> 76.2%; 5-fold CV of the whole method prefers
# 1 over 0.3 (95.9% vs 95.2%).
SMOOTHING = 1.0


def grams(text: str) -> Counter[str]:
    """1..MAX_GRAM character grams of each space-separated token, padded with spaces at its edges."""
    counts: Counter[str] = Counter()
    for token in text.split():
        padded = f" {token} "
        for size in range(1, MAX_GRAM + 1):
            for start in range(len(padded) - size + 1):
                gram = padded[start : start + size]
                if gram.strip():
                    counts[gram] += 1
    return counts


def words(text: str) -> set[str]:
    """Each word and each pair of neighbouring words (``a_b``) of a space-separated text."""
    tokens = text.split()
    return {f"w:{token}" for token in tokens} | {f"b:{a}_{b}" for a, b in pairwise(tokens)}


def features(text: str, language: Language) -> frozenset[str]:
    """The model's features of a normalised utterance (``intents.normalise``), each present or not."""
    if language is Language.ZH_CN:
        return frozenset(grams(text))
    return frozenset(words(text))


@dataclass(frozen=True)
class NgramPrediction:
    label: str
    # Best score minus runner-up score: how clearly the winner won (0 = a tie).
    margin: float


class ComplementNaiveBayes:
    def __init__(self, index: dict[str, int], weights: dict[str, array[float]]) -> None:
        # One row of weights per label, one column per gram: -log P(gram | any other label). Arrays, not dicts
        # of floats: the model stays under 2 MB in a service that should idle small.
        self._index = index
        self._weights = weights

    @classmethod
    def train(cls, examples: Iterable[tuple[Iterable[str], str]]) -> ComplementNaiveBayes:
        """``examples`` are (features, label) pairs; see ``features``."""
        per_label: dict[str, Counter[str]] = {}
        for found, label in examples:
            per_label.setdefault(label, Counter()).update(set(found))
        total: Counter[str] = Counter()
        for counts in per_label.values():
            total.update(counts)
        index = {gram: position for position, gram in enumerate(total)}
        total_mass = sum(total.values())
        weights: dict[str, array[float]] = {}
        for label, counts in per_label.items():
            complement_mass = total_mass - sum(counts.values()) + SMOOTHING * len(index)
            weights[label] = array(
                "d", (-math.log((total[gram] - counts[gram] + SMOOTHING) / complement_mass) for gram in index)
            )
        return cls(index, weights)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self._weights)

    def scores(self, found: Iterable[str]) -> dict[str, float]:
        """Higher = the features are less like every other label's. Features never seen in training are ignored."""
        known = [self._index[feature] for feature in set(found) if feature in self._index]
        return {label: sum(row[column] for column in known) for label, row in self._weights.items()}

    def predict(self, found: Iterable[str]) -> NgramPrediction:
        ranked = sorted(self.scores(found).items(), key=lambda item: -item[1])
        best, runner_up = ranked[0], ranked[1]
        return NgramPrediction(best[0], best[1] - runner_up[1])
