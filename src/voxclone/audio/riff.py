"""A small RIFF chunk walker that checks a WAV file's declared sizes against its bytes.

libsndfile trusts what it can read: a WAV whose ``data`` chunk is cut short, or whose header
claims far more data than the file holds, opens without complaint and yields whatever samples
happen to be there. Uploads whose header disagrees with their length are refused here, before
libsndfile sees them, and without allocating anything for the declared length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from voxclone.core.errors import InvalidAudio

_HEADER = struct.Struct("<4sI4s")
_CHUNK_HEADER_SIZE = 8
UNKNOWN_SIZE = 0xFFFFFFFF
"""The data size of a WAV written as a stream, before its length was known: "to the end"."""
# A real WAV has a handful of chunks before its data; this bounds the walk on hostile input.
_MAX_CHUNKS_BEFORE_DATA = 1000


def wave_header(sample_rate: int, data_size: int | None) -> bytes:
    """The 44-byte header of a mono 16-bit PCM WAV whose data is ``data_size`` bytes (None:
    of unknown length, a stream's), as libsndfile writes it."""
    riff_size = UNKNOWN_SIZE if data_size is None else 36 + data_size
    return _WAVE_HEADER.pack(
        b"RIFF",
        riff_size,
        b"WAVE",
        b"fmt ",
        16,  # the fmt chunk's size
        1,  # PCM
        1,  # one channel
        sample_rate,
        sample_rate * 2,  # bytes per second
        2,  # bytes per frame
        16,  # bits per sample
        b"data",
        UNKNOWN_SIZE if data_size is None else data_size,
    )


_WAVE_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a RIFF file: its four-character id, payload offset and declared size."""

    id: bytes
    offset: int
    size: int


def is_riff_wave(data: bytes) -> bool:
    """Whether ``data`` starts like a WAV file (little-endian RIFF or big-endian RIFX)."""
    return data[:4] in (b"RIFF", b"RIFX") and data[8:12] == b"WAVE"


def check_wave(data: bytes) -> Chunk:
    """Return the ``data`` chunk of a WAV file, or raise InvalidAudio if the file lies.

    Every chunk up to and including ``data`` must fit inside the bytes present, except a
    ``data`` chunk of size 0xFFFFFFFF (a streamed WAV), which runs to the end. Chunks after
    ``data`` (metadata such as LIST or id3) are not checked: they do not change the samples.
    """
    if len(data) < _HEADER.size:
        raise InvalidAudio(
            "the WAV file is truncated: its RIFF header is incomplete",
            present_bytes=len(data),
        )
    byte_order = "<" if data[:4] == b"RIFF" else ">"
    chunk_header = struct.Struct(f"{byte_order}4sI")
    seen_fmt = False
    position = _HEADER.size
    for _ in range(_MAX_CHUNKS_BEFORE_DATA):
        if position + _CHUNK_HEADER_SIZE > len(data):
            break
        chunk_id, size = chunk_header.unpack_from(data, position)
        chunk = Chunk(id=chunk_id, offset=position + _CHUNK_HEADER_SIZE, size=size)
        present = len(data) - chunk.offset
        if chunk_id == b"data" and size == UNKNOWN_SIZE:
            size = present  # a streamed WAV: its data runs to the end of the file
            chunk = Chunk(id=chunk_id, offset=chunk.offset, size=size)
        if size > present:
            name = chunk_id.decode("latin-1")
            raise InvalidAudio(
                f"the WAV file is truncated or inconsistent: its {name!r} chunk declares "
                f"{size} bytes but only {present} are present",
                chunk=name,
                declared_bytes=size,
                present_bytes=present,
            )
        if chunk_id == b"fmt ":
            seen_fmt = True
        elif chunk_id == b"data":
            if not seen_fmt:
                raise InvalidAudio("the WAV file has no 'fmt ' chunk before its 'data' chunk")
            return chunk
        position = chunk.offset + size + (size & 1)  # chunks are padded to an even length
    else:
        raise InvalidAudio(
            f"the WAV file has more than {_MAX_CHUNKS_BEFORE_DATA} chunks before its audio data"
        )
    raise InvalidAudio("the WAV file has no 'data' chunk", present_bytes=len(data))
