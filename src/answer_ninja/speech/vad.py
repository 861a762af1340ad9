"""Voice activity detection on 20 ms PCM16 16 kHz frames: webrtcvad (GMM, no model file) or an energy gate."""

from __future__ import annotations

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
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        return bool(samples.size) and float(np.sqrt(np.mean(samples * samples))) >= self.threshold_rms


def build_vad(aggressiveness: int) -> WebRtcVad | EnergyVad:
    try:
        return WebRtcVad(aggressiveness)
    except SpeechProviderError:
        return EnergyVad()
