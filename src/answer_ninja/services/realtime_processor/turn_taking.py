"""End of turn from what the caller said, not from a fixed silence.

A fixed 300 ms of silence both waits after every finished sentence and cuts in when a caller pauses at a comma
(people pause 280-660 ms there). Here the silence a turn needs depends on the transcript of the utterance so far,
which the loop has anyway (a pass starts at the first 100 ms of silence):

- **complete** (a question, a sentence-final particle, a closing phrase, or a full stop after a clause that does
  not end in a word that needs a continuation) ends the turn as soon as that transcript is known;
- **incomplete** (a comma, a conjunction, a preposition or another word that needs what follows) waits long
  enough to outlast a clause pause;
- **unsure** (no punctuation, or no transcript yet) waits in between.

Neither the transcript nor the pitch tells a thinking pause (280-660 ms at a comma) from an end well enough
(docs/voice-loop.md: Whisper base punctuates a streamed clause about as often at a pause as at an end). The caller's
own habit does: a caller seen going on after a long pause gets their longest pause plus a margin waited out, whatever
the verdict; a caller seen pausing only briefly gets a shorter hold than an unknown one. Pure functions: no I/O, no
clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Completeness(Enum):
    COMPLETE = "complete"
    UNSURE = "unsure"
    INCOMPLETE = "incomplete"


_TERMINAL = frozenset("。！？.!?…")
_CONTINUING = frozenset("，、,;；:：-—")
_CLOSING_QUOTES = "\"'”’)）】」』"

# Words a Mandarin sentence does not end on: conjunctions, prepositions, measure words, "we/you" openers.
ZH_DANGLING = (
    "因为", "所以", "但是", "可是", "不过", "而且", "并且", "然后", "如果", "虽然", "就是", "比如", "包括", "还有",
    "以及", "或者", "另外", "首先", "其次", "同时", "只要", "只是", "为了", "关于", "通过", "根据", "我们", "我是",
    "这边", "这个", "那个", "一个", "一款", "一些", "现在", "和", "跟", "与", "及", "或", "把", "被", "给",
    "对", "从", "向", "在", "是", "的话", "就", "还", "也", "都", "您", "你", "我", "请",
)  # fmt: skip
# A turn that is nothing but an opener (a greeting, "好的", "那好吧" before the goodbye) is the start of a line: callers
# say it and pause before what they called to say (the first clause pause of a call, before its pauses are known).
ZH_OPENERS = (
    "你好", "您好", "喂", "好的", "好", "那好吧", "那算了", "算了", "对", "是的", "嗯", "那个", "是这样的", "不好意思",
    "打扰一下", "请问",
)  # fmt: skip
ZH_OPENER_MAX_CHARS = 6
# Endings that close a Mandarin turn: question and sentence-final particles, thanks, farewells.
ZH_FINAL = (
    "吗", "呢", "吧", "啊", "呀", "啦", "哦", "嘛", "了", "谢谢", "再见", "拜拜", "好吗", "对吧", "可以吗", "是吗",
    "怎么样", "行吗", "好不好", "是不是", "对不对", "有没有", "要不要",
)  # fmt: skip
EN_DANGLING = frozenset(
    {
        "and", "but", "or", "so", "because", "if", "when", "while", "although", "that", "which", "who", "the", "a",
        "an", "to", "of", "for", "with", "about", "from", "in", "on", "at", "by", "as", "my", "your", "our", "we",
        "i", "is", "are", "was", "be", "have", "has", "can", "will", "would", "could", "just", "like", "um", "uh",
    }
)  # fmt: skip
EN_FINAL = frozenset({"thanks", "thank you", "bye", "goodbye", "okay", "right"})


def _strip(text: str) -> str:
    return text.strip().rstrip(_CLOSING_QUOTES).strip()


def completeness(text: str, language: str) -> Completeness:
    """How finished the utterance sounds, from its transcript."""
    stripped = _strip(text)
    if not stripped:
        return Completeness.UNSURE
    last = stripped[-1]
    body = stripped.rstrip("".join(_TERMINAL | _CONTINUING)).strip()
    if not body:
        return Completeness.UNSURE
    if last in "？?":
        return Completeness.COMPLETE  # a question is finished whatever word it ends on ("Can I book you in?")
    if language.startswith("zh"):
        if last in _CONTINUING or body.endswith(ZH_DANGLING) or _only_an_opener(body):
            return Completeness.INCOMPLETE
        if last in "？?" or body.endswith(ZH_FINAL):
            return Completeness.COMPLETE
        return Completeness.COMPLETE if last in _TERMINAL else Completeness.UNSURE
    words = body.lower().replace(",", " ").split()
    if last in _CONTINUING or (words and words[-1] in EN_DANGLING):
        return Completeness.INCOMPLETE
    if last in _TERMINAL or " ".join(words[-2:]) in EN_FINAL or (words and words[-1] in EN_FINAL):
        return Completeness.COMPLETE
    return Completeness.UNSURE


def _only_an_opener(body: str) -> bool:
    words = "".join(char for char in body if char not in _TERMINAL and char not in _CONTINUING and not char.isspace())
    return len(words) <= ZH_OPENER_MAX_CHARS and words.endswith(ZH_OPENERS)


@dataclass(frozen=True)
class TurnPolicy:
    """Silence (ms) a turn needs, by how complete its transcript sounds and how long this caller pauses mid-sentence.

    ``fixed_ms`` set = the old fixed rule.
    """

    complete_ms: int = 160
    unsure_ms: int = 420
    incomplete_ms: int = 760
    # Before any transcript of the whole utterance is known (the pass at the pause is still running).
    no_text_ms: int = 560
    # A caller seen going on after a pause this long (inside a turn, or right after the loop took a pause for the
    # end of one) pauses while thinking: every verdict then waits out their longest pause plus a margin. Neither
    # Whisper's text nor the pitch tells such a pause from an end reliably (docs/voice-loop.md), the caller's own
    # habit does: a fluent caller (pauses under 240 ms) keeps the short holds.
    pausing_caller_ms: int = 240
    pause_margin_ms: int = 120
    pausing_cap_ms: int = 800
    # A caller seen going on after pauses, all shorter than that, is fluent: a transcript that is merely unsure (or
    # not known yet) waits out their longest pause plus the margin, at least this long, not the unknown caller's
    # hold. Most line ends read "unsure" (Whisper base seldom punctuates a streamed clause), so this is where a
    # fluent caller's answer comes sooner.
    fluent_floor_ms: int = 240
    fixed_ms: int | None = None

    @property
    def longest_ms(self) -> int:
        """The silence that ends a turn whatever was said."""
        if self.fixed_ms is not None:
            return self.fixed_ms
        return max(self.complete_ms, self.unsure_ms, self.incomplete_ms, self.no_text_ms, self.pausing_cap_ms)

    def silence_needed(
        self, text: str | None, language: str, caller_pause_ms: int = 0, *, caller_seen_pausing: bool = False
    ) -> int:
        """``caller_pause_ms``: the longest pause this caller went on after, so far in the call;
        ``caller_seen_pausing``: they have gone on after at least one pause (so ``caller_pause_ms`` says something)."""
        if self.fixed_ms is not None:
            return self.fixed_ms
        verdict = None if text is None else completeness(text, language)
        needed = {
            None: self.no_text_ms,
            Completeness.COMPLETE: self.complete_ms,
            Completeness.INCOMPLETE: self.incomplete_ms,
            Completeness.UNSURE: self.unsure_ms,
        }[verdict]
        if caller_pause_ms >= self.pausing_caller_ms:
            needed = max(needed, min(self.pausing_cap_ms, caller_pause_ms + self.pause_margin_ms))
        elif caller_seen_pausing and verdict in (None, Completeness.UNSURE):
            needed = min(needed, max(self.fluent_floor_ms, caller_pause_ms + self.pause_margin_ms))
        return needed

    def ends_turn(
        self,
        text: str | None,
        language: str,
        silence_ms: int,
        caller_pause_ms: int = 0,
        *,
        caller_seen_pausing: bool = False,
    ) -> bool:
        return silence_ms >= self.silence_needed(
            text, language, caller_pause_ms, caller_seen_pausing=caller_seen_pausing
        )
