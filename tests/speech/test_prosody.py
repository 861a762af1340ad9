"""How the end of the caller's last words sounded, measured on voices whose pitch is known."""

from __future__ import annotations

import time

import numpy as np
import pytest

from answer_ninja.speech.prosody import RATE, ending_prosody, pitch_track


def voice(start_hz: float, end_hz: float, seconds: float = 1.2, *, fade: bool = False) -> bytes:
    """A buzz with five harmonics (a vowel's shape) gliding from ``start_hz`` to ``end_hz``."""
    count = int(seconds * RATE)
    pitch = np.linspace(start_hz, end_hz, count)
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.ones(count)
    if fade:
        envelope[-RATE // 5 :] = np.linspace(1.0, 0.2, RATE // 5)
    return (wave * envelope * 6000).astype("<i2").tobytes()


@pytest.mark.parametrize("hz", [90.0, 140.0, 220.0, 330.0])
def test_pitch_of_a_steady_voice_is_found_without_octave_errors(hz: float) -> None:
    samples = np.frombuffer(voice(hz, hz), dtype="<i2").astype(np.float32)
    pitch, _ = pitch_track(samples)
    assert np.nanmedian(pitch) == pytest.approx(hz, rel=0.04)
    assert np.mean(np.isnan(pitch)) < 0.05


def test_a_falling_fading_end_reads_low_and_falling_a_rising_one_high_and_rising() -> None:
    falling = ending_prosody(voice(220, 150, fade=True))
    rising = ending_prosody(voice(200, 260))
    assert falling is not None
    assert rising is not None
    assert falling.end_pitch_st < -2 < 2 < rising.end_pitch_st
    assert falling.slope_st_per_s < 0 < rising.slope_st_per_s
    assert falling.fade_db < -3
    assert abs(rising.fade_db) < 1


def test_silence_and_noise_have_no_prosody() -> None:
    assert ending_prosody(bytes(RATE)) is None
    noise = (np.random.default_rng(1).normal(0, 2000, RATE)).astype("<i2").tobytes()
    assert ending_prosody(noise) is None
    assert ending_prosody(b"") is None


def test_it_costs_milliseconds() -> None:
    audio = voice(180, 140, seconds=10.0)[-int(1.5 * RATE) * 2 :]
    ending_prosody(audio)
    started = time.perf_counter()
    for _ in range(10):
        ending_prosody(audio)
    assert (time.perf_counter() - started) / 10 < 0.02
