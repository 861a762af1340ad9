from __future__ import annotations

import pytest

from answer_ninja.calls.cues import Cues, read_cues
from answer_ninja.calls.vocabulary import Language


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("但是这个机会真的很难得", Language.ZH_CN, Cues(persistence=True)),
        ("你烦不烦啊，骗子", Language.ZH_CN, Cues(frustration=True)),
        ("好吧，那不打扰了，再见", Language.ZH_CN, Cues(goodbye=True)),
        ("but it's a real opportunity", Language.EN_US, Cues(persistence=True)),
        ("this is a waste of my time, you idiot", Language.EN_US, Cues(frustration=True)),
        ("ok, have a nice day", Language.EN_US, Cues(goodbye=True)),
        ("我们的产品有三种颜色", Language.ZH_CN, Cues()),
        ("we have three colours", Language.EN_US, Cues()),
    ],
)
def test_reads_persistence_frustration_and_goodbye(text: str, language: Language, expected: Cues) -> None:
    assert read_cues(text, language) == expected
