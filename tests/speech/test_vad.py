"""Voice activity detection on real synthesised speech and on silence."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from answer_ninja.speech.local_tts import _wav_to_pcm16k
from answer_ninja.speech.simulator import trim_silence
from answer_ninja.speech.vad import EnergyVad, GatedVad, WebRtcVad
from answer_ninja.telephony.codec import PCM_FRAME_BYTES, frames

SILENCE = bytes(PCM_FRAME_BYTES)


@pytest.fixture(scope="module")
def speech() -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/system-packages.txt)")
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", "hello, this is a test of where speech ends"],
        capture_output=True,
        check=True,
    ).stdout
    return trim_silence(_wav_to_pcm16k(wav))


def flags(vad: WebRtcVad | EnergyVad | GatedVad, audio: bytes) -> list[bool]:
    return [vad.is_speech(frame) for frame in frames(audio, PCM_FRAME_BYTES)]


def test_webrtcvad_hears_speech_not_silence(speech: bytes) -> None:
    vad = WebRtcVad(2)
    assert not any(flags(vad, SILENCE * 20))
    voiced = flags(vad, speech)
    assert sum(voiced) > 0.7 * len(voiced)


def test_gate_cuts_webrtcvads_hangover(speech: bytes) -> None:
    audio = SILENCE * 20 + speech + SILENCE * 20
    spoken_frames = 20 + len(speech) // PCM_FRAME_BYTES
    plain = flags(WebRtcVad(2), audio)
    gated = flags(GatedVad(WebRtcVad(2)), audio)
    hangover_plain = sum(plain[spoken_frames + 1 :])
    hangover_gated = sum(gated[spoken_frames + 1 :])
    assert hangover_plain >= 3  # webrtcvad smooths: it keeps saying speech after the voice stops
    assert hangover_gated == 0
    assert sum(gated[20:spoken_frames]) > 0.7 * (spoken_frames - 20)  # and still hears the speech


def test_energy_vad() -> None:
    vad = EnergyVad(threshold_rms=500)
    assert not vad.is_speech(SILENCE)
    loud = (b"\x00\x20" + b"\x00\xe0") * (PCM_FRAME_BYTES // 4)
    assert vad.is_speech(loud)
