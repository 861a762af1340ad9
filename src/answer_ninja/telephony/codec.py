"""Audio codecs of the carriers: G.711 mu-law (Twilio, 8 kHz) and 8 <-> 16 kHz resampling.

Internally every audio frame is 16-bit little-endian mono PCM at 16 kHz (what webrtcvad and Whisper take).
Mu-law follows ITU-T G.711 (the Sun reference implementation: bias 0x84, clip 32635); the whole table of
65,536 encodings is built once so a 20 ms frame costs one numpy lookup.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import soxr

PCM_RATE: Final = 16_000  # the internal rate
MULAW_RATE: Final = 8_000  # Twilio Media Streams
FRAME_MS: Final = 20  # carriers send 20 ms frames
PCM_FRAME_BYTES: Final = PCM_RATE * FRAME_MS // 1000 * 2  # 640
MULAW_FRAME_BYTES: Final = MULAW_RATE * FRAME_MS // 1000  # 160

_BIAS: Final = 0x84
_CLIP: Final = 32635  # 8159 in 14-bit units


def _decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + _BIAS) << exponent
    values = np.where(sign != 0, _BIAS - magnitude, magnitude - _BIAS)
    return values.astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    # The 14-bit form of G.711 (as in CPython's audioop and the Sun reference): shift to 14 bits first, so
    # negative values round towards minus infinity exactly as those implementations do.
    samples = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(samples < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(samples), _CLIP >> 2) + (_BIAS >> 2)
    # segment = how many of the thresholds 0x3F, 0x7F, ... 0x1FFF the magnitude exceeds
    segment = np.searchsorted(np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]), magnitude)
    segment = np.minimum(segment, 7)
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    table: npt.NDArray[np.uint8] = ((code ^ mask) & 0xFF).astype(np.uint8)
    return table


_DECODE: Final = _decode_table()
_ENCODE: Final = _encode_table()


def mulaw_decode(data: bytes) -> bytes:
    """Mu-law bytes -> PCM16 little-endian bytes (same rate)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    return _DECODE[codes].astype("<i2").tobytes()


def mulaw_encode(pcm: bytes) -> bytes:
    """PCM16 little-endian bytes -> mu-law bytes (same rate)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    return _ENCODE[samples + 32768].tobytes()


class Resampler:
    """Streaming PCM16 resampler (soxr keeps the filter state between 20 ms frames: no clicks at frame edges)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality="QQ")

    def process(self, pcm: bytes, *, last: bool = False) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2")
        out: npt.NDArray[np.int16] = self._stream.resample_chunk(samples, last=last)
        return out.astype("<i2").tobytes()


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample a whole PCM16 clip at once (for prepared audio, not for live frames)."""
    if in_rate == out_rate:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    out = soxr.resample(samples, in_rate, out_rate, quality="HQ")
    return np.asarray(out, dtype="<i2").tobytes()


class Upsampler2x:
    """8 -> 16 kHz for live frames: linear interpolation from the previous sample, so it holds nothing back.

    A filtering resampler (soxr) keeps a few samples of look-ahead, so each 20 ms frame would only be complete
    when the next one arrives: 20 ms added to every turn. The phone line carries nothing above 4 kHz, and VAD
    and Whisper hear linear interpolation of it just as well.
    """

    def __init__(self) -> None:
        self._previous = np.float32(0.0)

    def process(self, pcm8k: bytes) -> bytes:
        return self.upsample(np.frombuffer(pcm8k, dtype="<i2").astype(np.float32))

    def upsample(self, samples: npt.NDArray[np.float32]) -> bytes:
        # 50 frames a second per call: written in place, without temporaries (see bench/voice_bench.py capacity).
        if samples.size == 0:
            return b""
        out = np.empty(samples.size * 2, dtype=np.float32)
        out[1::2] = samples
        halfway = out[0::2]  # halfway between the previous sample and this one
        halfway[0] = self._previous + samples[0]
        np.add(samples[:-1], samples[1:], out=halfway[1:])
        halfway *= 0.5
        self._previous = samples[-1]
        return out.astype("<i2").tobytes()


_DECODE_FLOAT: Final = _DECODE.astype(np.float32)


class MulawInbound:
    """Twilio's inbound leg: mu-law 8 kHz payloads -> PCM16 16 kHz, with no look-ahead delay."""

    def __init__(self) -> None:
        self._up = Upsampler2x()

    def decode(self, payload: bytes) -> bytes:
        # One table lookup straight to float samples: the same values as mulaw_decode, one conversion fewer.
        return self._up.upsample(_DECODE_FLOAT[np.frombuffer(payload, dtype=np.uint8)])


def pcm16k_to_mulaw8k(pcm: bytes) -> bytes:
    """A whole PCM16 16 kHz clip -> mu-law 8 kHz (replies are encoded once, then cut into frames)."""
    return mulaw_encode(resample(pcm, PCM_RATE, MULAW_RATE))


def frames(data: bytes, frame_bytes: int, *, pad: bytes = b"\x00") -> list[bytes]:
    """Cut ``data`` into frames of exactly ``frame_bytes`` (the last one padded with ``pad``)."""
    out = [data[i : i + frame_bytes] for i in range(0, len(data), frame_bytes)]
    if out and len(out[-1]) < frame_bytes:
        out[-1] = out[-1] + pad * (frame_bytes - len(out[-1]))
    return out


def duration_ms(pcm16k: bytes) -> float:
    return len(pcm16k) / 2 / PCM_RATE * 1000


class Reframer:
    """Collects audio of any chunk size and hands out exact frames (resamplers do not keep 20 ms boundaries)."""

    def __init__(self, frame_bytes: int = PCM_FRAME_BYTES) -> None:
        self.frame_bytes = frame_bytes
        self._buffer = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        self._buffer.extend(data)
        count = len(self._buffer) // self.frame_bytes
        if not count:
            return []
        cut = count * self.frame_bytes
        out = [bytes(self._buffer[i : i + self.frame_bytes]) for i in range(0, cut, self.frame_bytes)]
        del self._buffer[:cut]
        return out
