"""How the caller's last words sounded: pitch and loudness at the end of the last voiced stretch (numpy only).

A speaker who finished a sentence lets the pitch fall to the bottom of their range and the voice fade; one who only
pauses at a comma holds the pitch level or lets it rise (Mandarin's and English's continuation rise) and stops
more abruptly. Whisper's punctuation carries little of this (it wrote a comma at 4 % of Mandarin clause pauses), so
it is measured here from the audio, at the first frames of silence, before any transcription pass is done.

Pitch is a normalised autocorrelation per 40 ms frame (10 ms hop) over the last ~1.5 s of voiced audio, in
semitones relative to the median pitch of that stretch (so a low or high voice looks the same). Cost: ~150 small
FFTs per pause, a few milliseconds of CPU. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16000
# Telephone audio carries nothing above 4 kHz: pitch is tracked at 8 kHz (a quarter of the FFT work).
_TRACK_RATE = 8000
_FRAME = 320  # 40 ms: two periods of a 50 Hz voice
_HOP = 80  # 10 ms
_F_MIN, _F_MAX = 70.0, 420.0
_VOICING = 0.5  # normalised autocorrelation peak that counts as voiced
# How much audio before the end is read: enough for a reference pitch (the speaker's median over the last phrase).
CONTEXT_SECONDS = 1.5
_TAIL_MS = 300  # the window whose pitch movement and fade are measured
_WINDOW = np.hanning(_FRAME).astype(np.float32)
_LOW, _HIGH = int(_TRACK_RATE / _F_MAX), int(_TRACK_RATE / _F_MIN)
# The Hann window's own autocorrelation: dividing by it makes the peak measure periodicity, not the taper.
_TAPER = np.fft.irfft(np.abs(np.fft.rfft(_WINDOW, n=2 * _FRAME)) ** 2)[:_FRAME]
_TAPER = (_TAPER / _TAPER[0])[_LOW:_HIGH]


@dataclass(frozen=True)
class EndingProsody:
    """The end of the caller's last voiced stretch. Semitones are relative to the stretch's median pitch."""

    end_pitch_st: float  # pitch of the last voiced frames (negative: below the speaker's median)
    slope_st_per_s: float  # pitch movement over the last 300 ms (negative: falling)
    fade_db: float  # loudness of the last 100 ms minus the 200 ms before it (negative: fading)
    voiced_share: float  # share of the last 300 ms with a pitch
    pitch_range_st: float  # spread (10th-90th percentile) of the pitch over the stretch

    def as_features(self) -> tuple[float, ...]:
        return (self.end_pitch_st, self.slope_st_per_s, self.fade_db, self.voiced_share, self.pitch_range_st)


FEATURE_NAMES = ("end_pitch_st", "slope_st_per_s", "fade_db", "voiced_share", "pitch_range_st")


def _frames(samples: np.ndarray) -> np.ndarray:
    count = 1 + (len(samples) - _FRAME) // _HOP
    index = np.arange(_FRAME)[None, :] + _HOP * np.arange(count)[:, None]
    framed: np.ndarray = samples[index]
    return framed


def pitch_track(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 10 ms hop of 16 kHz ``samples``: pitch in Hz (nan where unvoiced) and loudness in dB."""
    samples = samples[: len(samples) // 2 * 2].reshape(-1, 2).mean(axis=1)  # to 8 kHz
    if len(samples) < _FRAME:
        return np.full(0, np.nan), np.zeros(0)
    frames = _frames(samples)
    frames = frames - frames.mean(axis=1, keepdims=True)
    power = np.einsum("ij,ij->i", frames, frames) / _FRAME
    loudness = 10 * np.log10(power + 1e-3)
    spectrum = np.fft.rfft(frames * _WINDOW, n=2 * _FRAME, axis=1)
    autocorrelation = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, axis=1)
    normalised = autocorrelation[:, _LOW:_HIGH] / np.maximum(autocorrelation[:, :1], 1e-9) / _TAPER
    # The shortest lag close to the best one: a period's multiples correlate as well (octave errors).
    best = normalised.max(axis=1, keepdims=True)
    lag = np.argmax(normalised >= 0.9 * best, axis=1)
    rows = np.arange(len(lag))
    for _ in range(8):  # walk up to the local maximum that first good lag belongs to
        step = np.minimum(lag + 1, normalised.shape[1] - 1)
        lag = np.where(normalised[rows, step] > normalised[rows, lag], step, lag)
    peak = normalised[rows, lag]
    # A quiet frame (30 dB under the loudest) is not voiced, however periodic its noise is.
    voiced = (peak > _VOICING) & (loudness > loudness.max() - 30)
    pitch = np.where(voiced, _TRACK_RATE / (lag + _LOW), np.nan)
    return pitch, loudness


def ending_prosody(pcm16: bytes) -> EndingProsody | None:
    """The prosody of the end of ``pcm16`` (PCM16 16 kHz, ending at the caller's last voiced frame), if voiced."""
    context = int(CONTEXT_SECONDS * RATE) * 2
    samples = np.frombuffer(pcm16[-context:][: len(pcm16[-context:]) // 2 * 2], dtype="<i2").astype(np.float32)
    pitch, loudness = pitch_track(samples)
    if np.count_nonzero(~np.isnan(pitch)) < 5:
        return None
    semitones = 12 * np.log2(pitch / np.nanmedian(pitch))
    tail = _TAIL_MS // 10
    recent = semitones[-tail:]
    voiced_recent = ~np.isnan(recent)
    voiced_all = semitones[~np.isnan(semitones)]
    end_pitch = float(np.median(voiced_all[-3:]))
    if np.count_nonzero(voiced_recent) >= 3:
        times = np.arange(len(recent))[voiced_recent] * 0.01
        slope = float(np.polyfit(times, recent[voiced_recent], 1)[0])
    else:
        slope = 0.0
    last, before = loudness[-10:], loudness[-30:-10]
    fade = float(last.mean() - before.mean()) if len(before) else 0.0
    spread = float(np.percentile(voiced_all, 90) - np.percentile(voiced_all, 10))
    return EndingProsody(end_pitch, slope, fade, float(voiced_recent.mean()), spread)
