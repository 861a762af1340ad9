"""A character n-gram Complement Naive Bayes model, trained at start-up from the labelled utterances.

Characters, not words: Mandarin has no spaces and ASR errors change single characters (代款 for 贷款), so
1-3 character grams still overlap where whole words would not. Complement NB (Rennie et al., 2003) estimates
each intent from all the *other* intents' text, which suits a small, uneven labelled set. Training on ~500
utterances takes milliseconds, so the model is rebuilt from the packaged data instead of being stored.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Character grams from 1 to this length (measured: 3 beats 2 and 4 on the later sets, see the benchmark).
MAX_GRAM = 3
# Additive smoothing: small, because the grams of a short utterance are few.
SMOOTHING = 0.3


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
    def train(cls, examples: Iterable[tuple[str, str]]) -> ComplementNaiveBayes:
        """``examples`` are (normalised text, label) pairs."""
        per_label: dict[str, Counter[str]] = {}
        for text, label in examples:
            per_label.setdefault(label, Counter()).update(grams(text))
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

    def scores(self, text: str) -> dict[str, float]:
        """Higher = the text is less like every other label's text. Grams never seen in training are ignored."""
        known = [(self._index[gram], count) for gram, count in grams(text).items() if gram in self._index]
        return {label: sum(count * row[column] for column, count in known) for label, row in self._weights.items()}

    def predict(self, text: str) -> NgramPrediction:
        ranked = sorted(self.scores(text).items(), key=lambda item: -item[1])
        best, runner_up = ranked[0], ranked[1]
        return NgramPrediction(best[0], best[1] - runner_up[1])
