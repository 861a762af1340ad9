"""The few lines the voice loop says on its own (not conversation-engine's replies), per language."""

from __future__ import annotations

GREETING = {"zh-CN": "喂，您好，请问哪位？", "en-US": "Hello, who is calling?"}
SILENCE_PROMPT = {"zh-CN": "喂？您还在吗？", "en-US": "Hello? Are you still there?"}
GOODBYE = {"zh-CN": "不好意思，我先挂了，再见。", "en-US": "Sorry, I have to go now. Goodbye."}
# Short acknowledgements a caller says while listening: heard over the AI, they do not interrupt it.
BACKCHANNELS = frozenset(
    {
        "嗯", "嗯嗯", "对", "对对", "哦", "啊", "好", "好的", "是", "是的", "行", "噢", "呃",
        "uh-huh", "uh huh", "mm-hmm", "mhm", "mm", "ok", "okay", "yeah", "yes", "right", "sure", "i see", "yep",
    }
)  # fmt: skip


def own_lines(language: str) -> list[str]:
    return [table[language] for table in (GREETING, SILENCE_PROMPT, GOODBYE) if language in table]


def is_backchannel(text: str) -> bool:
    """True for a short acknowledgement ("嗯。", "Uh-huh.", "OK ok"), whatever punctuation Whisper adds."""
    cleaned = "".join(ch for ch in text.lower() if ch.isalnum() or ch in " -'")
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return False
    if cleaned in BACKCHANNELS:
        return True
    words = cleaned.split(" ")
    if len(words) <= 3 and all(word in BACKCHANNELS for word in words):
        return True
    # Mandarin has no spaces: "嗯嗯对" is three backchannel characters.
    return len(cleaned) <= 4 and all(ch in BACKCHANNELS for ch in cleaned)
