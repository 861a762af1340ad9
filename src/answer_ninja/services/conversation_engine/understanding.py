"""The intent classifier the service uses: patterns plus the n-gram model trained on the packaged labelled sets.

Loading the data is I/O, so it lives here and not in the pure ``calls`` package. The model is trained once per
process (about 0.1 s) on first use; the unseen set is never trained on, it is what the benchmark scores.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from answer_ninja.calls.intents import Classification, classify, normalise
from answer_ninja.calls.ngram import ComplementNaiveBayes, features
from answer_ninja.calls.vocabulary import Language

# The labelled set, the later one and more written to widen the wording. ``intents_unseen.jsonl`` and
# ``intents_holdout.jsonl`` are kept out on purpose: never trained or tuned on, they are the honest test sets.
TRAINING_SETS = ("intents.jsonl", "intents_later.jsonl", "intents_more.jsonl")
HELD_OUT_SETS = ("intents_unseen.jsonl", "intents_holdout.jsonl")


def load_labelled(name: str) -> list[dict[str, Any]]:
    """Rows of {"text", "intent", "language"} from a packaged JSON Lines file."""
    text = resources.files("answer_ninja.calls").joinpath("data", name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def train_ngram(rows: list[dict[str, Any]]) -> ComplementNaiveBayes:
    return ComplementNaiveBayes.train(
        (features(normalise(row["text"], language := Language(row["language"])), language), row["intent"])
        for row in rows
    )


@functools.cache
def packaged_ngram() -> ComplementNaiveBayes:
    return train_ngram([row for name in TRAINING_SETS for row in load_labelled(name)])


def understand(text: str, language: Language | None = None) -> Classification:
    """Intent of one caller utterance, with the packaged model."""
    return classify(text, language, ngram=packaged_ngram())
