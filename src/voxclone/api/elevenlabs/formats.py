"""ElevenLabs' ``output_format`` names (``mp3_44100_128``, ``pcm_16000``, ``ulaw_8000``…) mapped
onto voxclone's encoders.

``mp3_<rate>_<kbps>`` is MP3 at that rate (the bit rate is libsndfile's own: not chosen),
``pcm_<rate>`` raw s16le, ``wav_<rate>`` WAV, ``opus_48000_<kbps>`` Opus in Ogg at 48 kHz,
``ulaw_8000`` / ``alaw_8000`` G.711 at 8 kHz, made from the 8 kHz PCM (so it shares its cache
entry and its history item, which keeps the PCM).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxclone.audio import STREAM_FORMATS
from voxclone.core.errors import UnsupportedFormat

DEFAULT = "mp3_44100_128"
"""ElevenLabs' default when ``output_format`` is not given."""
MP3_RATES = (22050, 24000, 44100, 48000)
PCM_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
_NAME = re.compile(r"^(mp3|pcm|wav|opus|ulaw|alaw)_(\d+)(?:_(\d+))?$")


@dataclass(frozen=True, slots=True)
class ElevenLabsFormat:
    name: str
    """As asked for (``mp3_44100_128``)."""
    codec: str
    """voxclone's output format the engine's audio is encoded as."""
    sample_rate: int
    g711: str | None = None
    """``ulaw`` or ``alaw``: the PCM is companded to it."""

    @property
    def media_type(self) -> str:
        if self.g711 is not None:
            return "audio/basic" if self.g711 == "ulaw" else "audio/x-alaw-basic"
        return {
            "mp3": "audio/mpeg",
            "pcm": "application/octet-stream",
            "wav": "audio/wav",
            "opus": "audio/ogg",
        }[self.codec]

    @property
    def streams(self) -> bool:
        """Whether the encoder can send it as it is made (else: the whole file at once)."""
        return self.codec in STREAM_FORMATS


def parse(value: str | None) -> ElevenLabsFormat:
    """The format ``value`` names; 422 ``unsupported_format`` naming it otherwise."""
    name = (value or DEFAULT).strip().lower()
    match = _NAME.match(name)
    if match is not None:
        codec, rate = match.group(1), int(match.group(2))
        if codec == "mp3" and rate in MP3_RATES and match.group(3):
            return ElevenLabsFormat(name, "mp3", rate)
        if codec in ("pcm", "wav") and rate in PCM_RATES and not match.group(3):
            return ElevenLabsFormat(name, codec, rate)
        if codec == "opus" and rate == 48000 and match.group(3):
            return ElevenLabsFormat(name, "opus", rate)
        if codec in ("ulaw", "alaw") and rate == 8000 and not match.group(3):
            return ElevenLabsFormat(name, "pcm", rate, g711=codec)
    raise UnsupportedFormat(
        f"output_format {value!r} is not supported; use mp3_<22050|24000|44100|48000>_<kbps>, "
        f"pcm_<{'|'.join(map(str, PCM_RATES))}>, wav_<rate>, opus_48000_<kbps>, ulaw_8000 or "
        "alaw_8000",
        field="output_format",
        format=value,
    )


def compand(fmt: ElevenLabsFormat, pcm: bytes) -> bytes:
    """``pcm`` (s16le, an even number of bytes) in ``fmt``'s G.711 law; other formats as is."""
    if fmt.g711 is None:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    return (ulaw(samples) if fmt.g711 == "ulaw" else alaw(samples)).tobytes()


async def companded(fmt: ElevenLabsFormat, pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A stream of PCM pieces in ``fmt``'s law, whole samples at a time."""
    rest = b""
    async for piece in pieces:
        data = rest + piece
        whole = len(data) - len(data) % 2
        rest = data[whole:]
        if whole:
            yield compand(fmt, data[:whole])


_ULAW_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def ulaw(samples: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """ITU-T G.711 mu-law of 16-bit samples (as the reference coder, and Python's audioop)."""
    value = samples >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), 8159) + 0x21
    segment = np.searchsorted(_ULAW_ENDS, value)
    coded = (segment << 4) | ((value >> (segment + 1)) & 0x0F)
    return ((np.where(segment >= 8, 0x7F, coded) ^ mask) & 0xFF).astype(np.uint8)


def alaw(samples: npt.NDArray[np.int32]) -> npt.NDArray[np.uint8]:
    """ITU-T G.711 A-law of 16-bit samples (as the reference coder, and Python's audioop)."""
    value = samples >> 3
    mask = np.where(value >= 0, 0xD5, 0x55)
    value = np.where(value >= 0, value, -value - 1)
    segment = np.searchsorted(_ALAW_ENDS, value)
    coded = (segment << 4) | ((value >> np.where(segment < 2, 1, segment)) & 0x0F)
    return ((np.where(segment >= 8, 0x7F, coded) ^ mask) & 0xFF).astype(np.uint8)
