"""ElevenLabs' ``output_format`` names, and the G.711 coders checked against Python's own
reference implementation (audioop) over every 16-bit sample value."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator

import numpy as np
import pytest

from voxclone.api.elevenlabs.formats import alaw, compand, companded, parse, ulaw
from voxclone.core.errors import UnsupportedFormat

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int32)


@pytest.mark.parametrize(
    ("name", "codec", "rate", "g711"),
    [
        (None, "mp3", 44100, None),
        ("mp3_44100_128", "mp3", 44100, None),
        ("mp3_22050_32", "mp3", 22050, None),
        ("mp3_44100_192", "mp3", 44100, None),
        ("pcm_8000", "pcm", 8000, None),
        ("pcm_48000", "pcm", 48000, None),
        ("wav_16000", "wav", 16000, None),
        ("opus_48000_64", "opus", 48000, None),
        ("ulaw_8000", "pcm", 8000, "ulaw"),
        ("ALAW_8000", "pcm", 8000, "alaw"),
    ],
)
def test_names_map_onto_encoders(name: str | None, codec: str, rate: int, g711: str | None) -> None:
    fmt = parse(name)
    assert (fmt.codec, fmt.sample_rate, fmt.g711) == (codec, rate, g711)


@pytest.mark.parametrize(
    "name", ["mp3_11025_8", "mp3_44100", "pcm_12345", "pcm_16000_1", "ulaw_16000", "aac", ""]
)
def test_other_names_are_refused_by_name(name: str) -> None:
    with pytest.raises(UnsupportedFormat) as refused:
        parse(name or "opus_24000_32")
    assert repr(name or "opus_24000_32") in refused.value.message


def test_g711_matches_the_reference_coder_on_every_sample() -> None:
    data = EVERY_SAMPLE.astype("<i2").tobytes()
    assert ulaw(EVERY_SAMPLE).tobytes() == audioop.lin2ulaw(data, 2)
    assert alaw(EVERY_SAMPLE).tobytes() == audioop.lin2alaw(data, 2)
    assert compand(parse("pcm_8000"), data) == data


def test_a_stream_is_companded_whole_samples_at_a_time() -> None:
    data = EVERY_SAMPLE[::97].astype("<i2").tobytes()

    async def odd_pieces() -> AsyncIterator[bytes]:
        for at in range(0, len(data), 7):  # pieces that split samples
            yield data[at : at + 7]

    async def joined() -> bytes:
        return b"".join([piece async for piece in companded(parse("ulaw_8000"), odd_pieces())])

    assert asyncio.run(joined()) == audioop.lin2ulaw(data, 2)
