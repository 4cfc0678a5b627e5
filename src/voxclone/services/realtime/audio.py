"""The audio formats of OpenAI's Realtime protocol: base64 of PCM16 (24 kHz, mono, little
endian) or of G.711 mu-law / A-law (8 kHz), decoded to float32 samples and back."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from voxclone.core.errors import InvalidAudio, UnsupportedFormat
from voxclone.core.types import FloatArray

RATES = {"pcm16": 24000, "g711_ulaw": 8000, "g711_alaw": 8000}
"""Each format's sample rate, fixed by the protocol."""
FORMATS = tuple(RATES)


def check_format(value: object, *, field: str) -> str:
    if value not in RATES:
        raise UnsupportedFormat(
            f"{field} {value!r} is not supported; use one of {', '.join(FORMATS)} "
            "(pcm16 is 24 kHz mono, the G.711 ones 8 kHz)",
            field=field,
            format=value,
            supported=list(FORMATS),
        )
    return str(value)


def decode(data: str, fmt: str) -> FloatArray:
    """Base64 audio in ``fmt`` as float32 samples in [-1, 1] (at ``RATES[fmt]``)."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAudio("audio must be base64", field="audio") from None
    if fmt == "pcm16":
        if len(raw) % 2:
            raise InvalidAudio(
                f"pcm16 audio is 2 bytes a sample; got {len(raw)} bytes", field="audio"
            )
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    codes = np.frombuffer(raw, dtype=np.uint8)
    table = _ULAW_TABLE if fmt == "g711_ulaw" else _ALAW_TABLE
    decoded: FloatArray = table[codes]
    return decoded


def encode(samples: FloatArray, fmt: str) -> str:
    """Float samples (at ``RATES[fmt]``) as base64 audio in ``fmt``."""
    return base64.b64encode(encode_bytes(samples, fmt)).decode("ascii")


def encode_bytes(samples: FloatArray, fmt: str) -> bytes:
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
    if fmt == "pcm16":
        return pcm.astype("<i2").tobytes()
    if fmt == "g711_ulaw":
        return _ulaw_encode(pcm).tobytes()
    return _alaw_encode(pcm).tobytes()


def pcm16_samples(data: bytes) -> FloatArray:
    """Raw PCM s16le (what the synthesis stream sends) as float32."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def _ulaw_decode_one(code: int) -> int:
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    value = ((mantissa << 3) + 0x84) << exponent
    value -= 0x84
    return -value if sign else value


def _alaw_decode_one(code: int) -> int:
    code ^= 0x55
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    value = (mantissa << 4) + 8
    if exponent:
        value = (value + 0x100) << (exponent - 1)
    return value if sign else -value


_ULAW_TABLE = np.array([_ulaw_decode_one(c) for c in range(256)], dtype=np.float32) / 32768.0
_ALAW_TABLE = np.array([_alaw_decode_one(c) for c in range(256)], dtype=np.float32) / 32768.0


def _ulaw_encode(pcm: np.ndarray) -> np.ndarray[Any, np.dtype[np.uint8]]:
    value = pcm.astype(np.int32)
    sign = np.where(value < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(value), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    codes: np.ndarray[Any, np.dtype[np.uint8]] = (
        ~(sign | (exponent << 4) | mantissa) & 0xFF
    ).astype(np.uint8)
    return codes


def _alaw_encode(pcm: np.ndarray) -> np.ndarray[Any, np.dtype[np.uint8]]:
    value = pcm.astype(np.int32)
    sign = np.where(value >= 0, 0x80, 0)
    magnitude = np.minimum(np.abs(value), 32767)
    small = magnitude < 256
    exponent = np.where(small, 0, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 7)
    mantissa = np.where(small, magnitude >> 4, (magnitude >> (exponent + 3)) & 0x0F)
    codes: np.ndarray[Any, np.dtype[np.uint8]] = (
        (sign | (exponent << 4) | mantissa) ^ 0x55
    ).astype(np.uint8)
    return codes
