"""Voice activity detection on 20 ms PCM16 16 kHz frames: webrtcvad (GMM, no model file) or an energy gate."""

from __future__ import annotations

import math

import numpy as np

from answer_ninja.speech.base import SpeechProviderError


class WebRtcVad:
    name = "webrtcvad"

    def __init__(self, aggressiveness: int = 2) -> None:
        try:
            import webrtcvad
        except ImportError as error:  # the voice extra is not installed
            raise SpeechProviderError(f"webrtcvad is not installed: {error}") from None
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, 16000))


class EnergyVad:
    """Fallback: RMS above a fixed level (phone lines are quiet between words; fine for the simulator)."""

    name = "energy"

    def __init__(self, threshold_rms: float = 500.0) -> None:
        self.threshold_rms = threshold_rms

    def is_speech(self, frame: bytes) -> bool:
        return rms(frame) >= self.threshold_rms


def rms(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    # A dot product is one pass and no temporaries: a quarter of the time of mean(samples**2) on a 20 ms frame.
    return math.sqrt(float(np.dot(samples, samples)) / samples.size) if samples.size else 0.0


class GatedVad:
    """webrtcvad, with its trailing hangover cut by an energy gate.

    webrtcvad keeps saying "speech" for 80-120 ms after the voice stops (its hangover smoothing); every one of
    those frames is added to the caller's wait. A frame now counts as voiced only if webrtcvad says so AND it is
    louder than the line's noise floor (tracked on the frames webrtcvad calls silence) by ``margin``.
    """

    def __init__(self, inner: WebRtcVad | EnergyVad, *, min_rms: float = 120.0, margin: float = 3.0) -> None:
        self.inner = inner
        self.name = f"{inner.name}+gate"
        self.min_rms = min_rms
        self.margin = margin
        self.noise_floor = 0.0

    def is_speech(self, frame: bytes) -> bool:
        level = rms(frame)
        if not self.inner.is_speech(frame):
            self.noise_floor = 0.95 * self.noise_floor + 0.05 * level
            return False
        return level > max(self.min_rms, self.noise_floor * self.margin)
