"""One script for Mandarin text: Whisper writes it in traditional characters about half the time.

Transcripts, call records and the intent model all use simplified Chinese (zh-CN), so recognised text is converted
with OpenCC's traditional-to-simplified tables (phrase-level, not a character map that would mistranslate).
"""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with traditional Chinese characters and phrases replaced by their simplified forms."""
    if not text:
        return text
    converted: str = _converter().convert(text)
    return converted
