"""Codec and resampling, against known G.711 vectors and CPython's reference implementation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from answer_ninja.telephony.codec import (
    MULAW_FRAME_BYTES,
    MulawInbound,
    Reframer,
    Upsampler2x,
    frames,
    mulaw_decode,
    mulaw_encode,
    pcm16k_to_mulaw8k,
    resample,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference G.711 implementation (CPython <= 3.12)


def pcm(*samples: int) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def test_mulaw_known_vectors() -> None:
    # ITU-T G.711 mu-law: 0 -> 0xFF, full scale positive -> 0x80, full scale negative -> 0x00.
    assert mulaw_encode(pcm(0, 32767, -32768, -1, 1)) == bytes([0xFF, 0x80, 0x00, 0x7E, 0xFF])
    assert np.frombuffer(mulaw_decode(bytes([0xFF, 0x80, 0x00, 0x7F])), dtype="<i2").tolist() == [0, 32124, -32124, 0]


def test_mulaw_matches_the_reference_over_every_sample_and_code() -> None:
    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert mulaw_encode(every_sample) == audioop.lin2ulaw(every_sample, 2)
    every_code = bytes(range(256))
    assert mulaw_decode(every_code) == audioop.ulaw2lin(every_code, 2)


def test_mulaw_round_trip_is_within_the_quantisation_step() -> None:
    samples = np.arange(-32000, 32000, 37, dtype=np.int32)
    decoded = np.frombuffer(mulaw_decode(mulaw_encode(samples.astype("<i2").tobytes())), dtype="<i2")
    error = np.abs(decoded.astype(np.int32) - samples)
    # mu-law's step grows with the magnitude: 2 at the bottom, 1024 at the top segment -> half a step of error.
    assert np.all(error <= np.maximum(4, np.abs(samples) // 16 + 8))
    assert mulaw_decode(mulaw_encode(mulaw_decode(bytes(range(256))))) == mulaw_decode(bytes(range(256)))


def sine(hz: float, rate: int, seconds: float = 1.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (10000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


def peak_hz(data: bytes, rate: int) -> float:
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum)) * rate / samples.size


@pytest.mark.parametrize(("source", "target"), [(8000, 16000), (16000, 8000)])
def test_resampling_keeps_pitch_and_duration(source: int, target: int) -> None:
    out = resample(sine(1000, source), source, target)
    assert len(out) // 2 == pytest.approx(target, abs=2)
    assert peak_hz(out, target) == pytest.approx(1000, abs=2)


def test_downsampling_removes_what_8k_cannot_carry() -> None:
    out = resample(sine(6000, 16000), 16000, 8000)  # above the 4 kHz Nyquist limit of the phone line
    steady = np.frombuffer(out, dtype="<i2")[200:-200].astype(np.float64)  # past the filter's edge transients
    assert np.sqrt(np.mean(steady**2)) < 100  # from an RMS of 7,000


def test_streaming_inbound_decoder_produces_16k_frames_without_gaps() -> None:
    tone_8k = mulaw_encode(sine(440, 8000, 1.0))
    inbound, reframer = MulawInbound(), Reframer()
    out = b"".join(b"".join(reframer.push(inbound.decode(frame))) for frame in frames(tone_8k, MULAW_FRAME_BYTES))
    assert len(out) == 4 * len(tone_8k)  # every frame complete at once: nothing held back for look-ahead
    assert peak_hz(out, 16000) == pytest.approx(440, abs=3)


def test_live_upsampler_is_continuous_across_frames() -> None:
    upsampler = Upsampler2x()
    first = np.frombuffer(upsampler.process(pcm(0, 100, 200)), dtype="<i2").tolist()
    second = np.frombuffer(upsampler.process(pcm(300)), dtype="<i2").tolist()
    assert first == [0, 0, 50, 100, 150, 200]
    assert second == [250, 300]  # interpolated from the last sample of the previous frame


def test_outbound_encoding_halves_the_rate() -> None:
    assert len(pcm16k_to_mulaw8k(sine(440, 16000, 0.5))) == pytest.approx(4000, abs=2)


def test_frames_pads_the_last_frame() -> None:
    assert frames(b"abcde", 2, pad=b"\xff") == [b"ab", b"cd", b"e\xff"]
    reframer = Reframer(4)
    assert reframer.push(b"abc") == []
    assert reframer.push(b"defghi") == [b"abcd", b"efgh"]
