"""Encoding audio as it is synthesized: the pieces of a chunked HTTP response.

An engine yields a chunk per sentence; ``StreamEncoder`` turns each into bytes that can be sent
at once and that, put together, are one playable file:

- ``pcm``: raw s16le samples;
- ``wav``: a WAV header whose RIFF and data sizes are 0xFFFFFFFF ("until the end", as
  ElevenLabs and Kokoro-FastAPI stream WAV), then s16le samples. libsndfile reads it to the
  end of the bytes, and so does ``decode_audio`` (``riff`` takes the sentinel);
- ``mp3``: constant bit rate frames from one encoder (``codec.Mp3Frames``).

FLAC and Ogg are not streamed: their headers carry totals known only at the end.

Chunks are sent as they come, not crossfaded as ``concat_with_crossfade`` joins them for a
whole file (it overlaps the chunks, which needs the next chunk before the seam can be sent).
Every engine's chunks start and end in silence (Kokoro trims and fades each to zero; Piper's
edges are about -80 dBFS; the fake engine fades its tones), so butting them together does not
click. Each chunk is still faded in (but the first) and out over 5 ms, so that an engine that
ends a chunk mid-waveform cannot click either.
"""

from __future__ import annotations

from voxclone.audio.codec import Mp3Frames, output_rate, pcm_s16le
from voxclone.audio.edit import fade_ends
from voxclone.audio.resample import resample
from voxclone.audio.riff import wave_header
from voxclone.core.errors import UnsupportedFormat
from voxclone.core.types import Audio

STREAM_FORMATS = ("mp3", "wav", "pcm")
SEAM_FADE_MS = 5.0


def check_stream_format(fmt: str) -> str:
    """``fmt`` if it can be streamed; UnsupportedFormat naming the formats that can otherwise."""
    if fmt not in STREAM_FORMATS:
        raise UnsupportedFormat(
            f"format {fmt!r} cannot be streamed; stream one of {', '.join(STREAM_FORMATS)}, "
            "or ask for the whole file without streaming",
            format=fmt,
            supported=list(STREAM_FORMATS),
        )
    return fmt


def wav_stream_header(sample_rate: int) -> bytes:
    """A 44-byte header of mono 16-bit PCM WAV of unknown length."""
    return wave_header(sample_rate, None)


class StreamEncoder:
    """Chunks in, encoded pieces out, for one stream in ``fmt`` (one of STREAM_FORMATS).

    ``sample_rate`` is the rate asked for (or the first chunk's); MP3 may be written at the
    next rate up that it accepts (``output_rate``). Each chunk is resampled on its own.
    Call ``encode`` per chunk, then ``finish``; ``close`` in any case, from any thread.
    """

    def __init__(self, fmt: str, *, sample_rate: int) -> None:
        self.fmt = check_stream_format(fmt)
        self.sample_rate = output_rate(fmt, sample_rate)
        self._mp3 = Mp3Frames(self.sample_rate) if fmt == "mp3" else None
        self._header = wav_stream_header(self.sample_rate) if fmt == "wav" else b""
        self._chunks = 0

    def encode(self, chunk: Audio) -> bytes:
        """The bytes for ``chunk``, the header first for the first chunk of a WAV."""
        audio = resample(chunk, self.sample_rate)
        audio = fade_ends(audio, fade_in=self._chunks > 0, fade_out=True, fade_ms=SEAM_FADE_MS)
        self._chunks += 1
        if self._mp3 is not None:
            return self._mp3.encode(audio.samples)
        data, self._header = self._header + pcm_s16le(audio.samples), b""
        return data

    def finish(self) -> bytes:
        """What is left to send after the last chunk."""
        if self._mp3 is not None:
            return self._mp3.finish()
        data, self._header = self._header, b""
        return data

    def close(self) -> None:
        if self._mp3 is not None:
            self._mp3.close()
