"""Decoding uploads and encoding results, with libsndfile (through python-soundfile).

This is the one module that calls soundfile; its errors are translated here. Uploads are
decoded from memory and their format is sniffed from their content alone, never from a file
name or a declared content type. Only WAV, FLAC, OGG (Vorbis or Opus) and MP3 are accepted,
although libsndfile opens many more formats.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soundfile as sf

from voxclone.audio import mp3, riff
from voxclone.audio.resample import resample
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    InvalidAudio,
    UnsupportedFormat,
    VoxcloneError,
)
from voxclone.core.types import Audio, FloatArray

ACCEPTED_INPUT_FORMATS = ("wav", "flac", "ogg", "mp3")
SUPPORTED_OUTPUT_FORMATS = ("wav", "mp3", "flac", "ogg", "opus", "pcm")

# libsndfile's major format -> our name for its family. WAVEX is WAV with
# WAVE_FORMAT_EXTENSIBLE; OGG holds Vorbis or Opus.
_INPUT_FAMILIES = {"WAV": "wav", "WAVEX": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3"}

_OUTPUT_ENCODINGS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
}
# "pcm" is raw signed 16-bit little-endian samples with no header. It is not "audio/L16":
# RFC 2586 defines L16 as big-endian (network byte order) with a mandatory rate parameter.
_MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "pcm": "application/octet-stream",
}
# The rates these encoders accept. Audio at another rate is resampled: for MP3 to the next
# accepted rate up (or 48 kHz), for Opus to 48 kHz.
_ENCODER_RATES = {
    "mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "opus": (8000, 12000, 16000, 24000, 48000),
}

MP3_STREAM_COMPRESSION = 0.5
"""libsndfile's compression level for streamed MP3 (0: best, 1: smallest), at a constant rate."""

_READ_BLOCK_FRAMES = 65536
_UNKNOWN_FRAMES = 2**63 - 1  # libsndfile's SF_COUNT_MAX: the header does not give the length
_SF_ERR_UNRECOGNISED_FORMAT = 1  # libsndfile's public error code for "not a format I know"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the header of an audio file says, read without decoding its samples.

    For MP3 without a Xing/LAME header, ``frames`` is libsndfile's estimate from the bit rate.
    When the header does not give the length (a FLAC written to a pipe has 0 total samples in
    its STREAMINFO), ``frames`` is libsndfile's SF_COUNT_MAX and ``length_known`` is False.
    """

    format: str
    subtype: str
    channels: int
    sample_rate: int
    frames: int

    @property
    def length_known(self) -> bool:
        return self.frames != _UNKNOWN_FRAMES

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """An upload decoded to mono float32 at its own rate, with what it was before."""

    audio: Audio
    format: str
    subtype: str
    channels: int
    sample_rate: int


def probe_audio(data: bytes) -> AudioInfo:
    """Describe the audio in ``data`` from its header; raise InvalidAudio if it is not audio."""
    with _open(data) as (_, info):
        return info


def decode_audio(data: bytes, *, max_seconds: float | None = None) -> DecodedAudio:
    """Decode an upload to mono float32 samples at its original sample rate.

    Channels are averaged. When ``max_seconds`` is given, a longer file is refused with
    AudioDurationOutOfRange from its header, before any sample is decoded; when the header
    does not give the length, while decoding, as soon as the limit is passed. Without it, a
    small compressed file can decode to a very long signal: pass it for anything a client sent.
    """
    with _open(data) as (sound_file, info):
        if max_seconds is not None and info.length_known and info.duration_s > max_seconds:
            raise AudioDurationOutOfRange(
                f"the audio is {info.duration_s:.1f} s long; the limit is {max_seconds:g} s",
                duration_s=round(info.duration_s, 3),
                max_s=max_seconds,
            )
        if not info.length_known:
            # soundfile seeks to its own count of frames read after every read, and libFLAC
            # cannot seek in a stream of unknown length: read without that bookkeeping.
            sound_file.seekable = lambda: False
        max_frames = None if max_seconds is None else int(max_seconds * info.sample_rate)
        samples = _read_mono(sound_file, max_frames=max_frames)
        if max_frames is not None and samples.size > max_frames:
            raise AudioDurationOutOfRange(
                f"the audio is longer than the limit of {max_seconds:g} s",
                min_duration_s=round(samples.size / info.sample_rate, 3),
                max_s=max_seconds,
            )
    if samples.size == 0:
        raise InvalidAudio("the audio file contains no samples (0 frames)", format=info.format)
    nonfinite = int(samples.size - np.count_nonzero(np.isfinite(samples)))
    if nonfinite:
        raise InvalidAudio(
            f"the audio contains {nonfinite} NaN or infinite samples",
            nonfinite_samples=nonfinite,
        )
    np.clip(samples, -1.0, 1.0, out=samples)  # float files may exceed full scale
    return DecodedAudio(
        audio=Audio(samples, info.sample_rate),
        format=info.format,
        subtype=info.subtype,
        channels=info.channels,
        sample_rate=info.sample_rate,
    )


def encode_audio(audio: Audio, fmt: str = "wav", *, sample_rate: int | None = None) -> bytes:
    """Encode ``audio`` as one of SUPPORTED_OUTPUT_FORMATS, resampled to ``sample_rate`` if given.

    "ogg" is Vorbis, "opus" is Opus in OGG, "pcm" is raw s16le with no header. MP3 and Opus
    accept only some rates; audio at another rate is resampled to the next rate up that the
    encoder accepts (for Opus: 48 kHz), so the result may not be at ``sample_rate``. Samples
    are clipped to [-1, 1]. Empty audio can only be encoded as "pcm" (libsndfile writes
    nothing at all for an empty FLAC or MP3 file).
    """
    fmt = _output_format(fmt)
    audio = resample(audio, output_rate(fmt, sample_rate or audio.sample_rate))
    samples: FloatArray = np.clip(audio.samples, -1.0, 1.0)
    if fmt == "pcm":
        return pcm_s16le(samples)
    if samples.size == 0:
        raise ValueError(f"cannot encode empty audio as {fmt}")
    if fmt == "wav":  # the header and the samples: ten times faster than libsndfile's writer
        pcm = pcm_s16le(samples)
        return riff.wave_header(audio.sample_rate, len(pcm)) + pcm
    major, subtype = _OUTPUT_ENCODINGS[fmt]
    buffer = io.BytesIO()
    try:
        sf.write(buffer, samples, audio.sample_rate, format=major, subtype=subtype)
    except sf.SoundFileError as exc:
        raise VoxcloneError(
            f"could not encode audio as {fmt}: {_reason(exc)}",
            format=fmt,
            sample_rate=audio.sample_rate,
        ) from exc
    return buffer.getvalue()


def output_rate(fmt: str, rate: int) -> int:
    """The rate ``fmt`` is written at when ``rate`` is asked for: ``rate`` itself, or for MP3
    the next rate up that the encoder accepts (48 kHz above them all), for Opus 48 kHz."""
    allowed = _ENCODER_RATES.get(_output_format(fmt))
    if allowed is None or rate in allowed:
        return rate
    higher = [accepted for accepted in allowed if accepted >= rate]
    return higher[0] if fmt == "mp3" and higher else allowed[-1]


def pcm_s16le(samples: FloatArray) -> bytes:
    """Samples in [-1, 1] as raw signed 16-bit little-endian PCM ("pcm"; a WAV's data)."""
    # Full scale is 32768, as in libsndfile (which floors where this rounds). A WAV's data
    # chunk is these bytes too.
    scaled = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    pcm: npt.NDArray[np.int16] = scaled.astype("<i2")
    return pcm.tobytes()


class Mp3Frames:
    """One MP3 encoder for a whole stream: audio in, piece by piece; MP3 frames out.

    One encoder carries its state from piece to piece, so the pieces join without a gap; an
    encoder per piece would add its delay and padding (tens of milliseconds) at every seam.
    The frames are constant bit rate (``MP3_STREAM_COMPRESSION``: 160 kbit/s at 44.1 and 48
    kHz, 80 at 16 to 24 kHz) and have no Xing/Info frame, which only a complete file can carry:
    without one, decoders (libsndfile among them) work out the length of a variable bit rate
    stream from its first frame, and cut it short. The encoder holds back about a frame, which
    comes out with the next piece or from ``finish``. Calls take turns: ``close`` from another
    thread (a stream cancelled while a piece is being encoded) waits for that piece.
    """

    def __init__(self, sample_rate: int) -> None:
        if sample_rate not in _ENCODER_RATES["mp3"]:
            raise ValueError(f"MP3 cannot be written at {sample_rate} Hz")
        self.sample_rate = sample_rate
        self._sink = _AppendedBytes()
        self._head: bytes | None = b""  # the start, until it shows whether it is a tag frame
        self._lock = threading.Lock()
        try:
            self._file = sf.SoundFile(
                self._sink,
                "w",
                samplerate=sample_rate,
                channels=1,
                format="MP3",
                subtype="MPEG_LAYER_III",
                bitrate_mode="CONSTANT",
                compression_level=MP3_STREAM_COMPRESSION,
            )
        except sf.SoundFileError as exc:
            raise VoxcloneError(
                f"could not start an MP3 stream: {_reason(exc)}", sample_rate=sample_rate
            ) from exc

    def encode(self, samples: FloatArray) -> bytes:
        """The frames that ``samples`` (at ``sample_rate``, in [-1, 1]) complete."""
        with self._lock:
            self._file.write(np.clip(samples, -1.0, 1.0))
            return self._frames()

    def finish(self) -> bytes:
        """The frames the encoder still holds; the encoder is closed."""
        with self._lock:
            self._file.close()
            return self._frames() + (self._head or b"")

    def close(self) -> None:
        """Drop what the encoder holds (idempotent)."""
        with self._lock:
            self._file.close()

    def _frames(self) -> bytes:
        data = self._sink.take()
        if self._head is None:
            return data
        self._head += data
        tag = mp3.tag_frame_length(self._head)
        if tag is None:
            return b""
        data, self._head = self._head[tag:], None
        return data


class _AppendedBytes:
    """A file for libsndfile to write to that keeps only what is appended, until taken.

    When it closes, libsndfile seeks back to rewrite the Xing/Info frame with the totals; those
    writes, over bytes already taken, are dropped.
    """

    def __init__(self) -> None:
        self._position = 0
        self._end = 0
        self._new = bytearray()

    def take(self) -> bytes:
        data = bytes(self._new)
        self._new.clear()
        return data

    def write(self, data: bytes) -> int:
        if self._position == self._end:
            self._new += data
            self._end += len(data)
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._end}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        return b""  # nothing written can be read back


def media_type(fmt: str) -> str:
    """The Content-Type for audio encoded as ``fmt`` (raw "pcm" is application/octet-stream)."""
    return _MEDIA_TYPES[_output_format(fmt)]


@contextmanager
def _open(data: bytes) -> Iterator[tuple[sf.SoundFile, AudioInfo]]:
    """Open ``data`` with libsndfile after the checks it does not do; translate its errors."""
    if not data:
        raise InvalidAudio("the upload is empty (0 bytes)", size_bytes=0)
    if riff.is_riff_wave(data):
        riff.check_wave(data)
    try:
        with sf.SoundFile(io.BytesIO(data)) as sound_file:
            family = _INPUT_FAMILIES.get(sound_file.format)
            if family is None:
                raise UnsupportedFormat(
                    f"{sound_file.format} audio is not accepted; "
                    f"send one of: {', '.join(ACCEPTED_INPUT_FORMATS)}",
                    found=sound_file.format,
                    accepted=list(ACCEPTED_INPUT_FORMATS),
                )
            info = AudioInfo(
                format=family,
                subtype=sound_file.subtype,
                channels=sound_file.channels,
                sample_rate=sound_file.samplerate,
                frames=sound_file.frames,
            )
            yield sound_file, info
    except sf.SoundFileError as exc:
        raise _invalid(exc, size_bytes=len(data)) from exc


def _read_mono(sound_file: sf.SoundFile, *, max_frames: int | None = None) -> FloatArray:
    """Read in blocks, so memory follows the samples present, not what the header claims.

    With ``max_frames``, reading stops at the first block past it (the result is then longer
    than ``max_frames``), so a file of unknown length is never read to its end.
    """
    blocks: list[FloatArray] = []
    read = 0
    while max_frames is None or read <= max_frames:
        block = sound_file.read(_READ_BLOCK_FRAMES, dtype="float32", always_2d=True)
        if len(block) == 0:
            break
        read += len(block)
        blocks.append(np.mean(block, axis=1, dtype=np.float32))
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(blocks)


def _output_format(fmt: str) -> str:
    name = fmt.lower()
    if name not in SUPPORTED_OUTPUT_FORMATS:
        raise UnsupportedFormat(
            f"unsupported output format {fmt!r}; supported: {', '.join(SUPPORTED_OUTPUT_FORMATS)}",
            format=fmt,
            supported=list(SUPPORTED_OUTPUT_FORMATS),
        )
    return name


def _invalid(exc: sf.SoundFileError, *, size_bytes: int) -> InvalidAudio:
    reason = _reason(exc)
    if getattr(exc, "code", None) == _SF_ERR_UNRECOGNISED_FORMAT:
        accepted = ", ".join(format_.upper() for format_ in ACCEPTED_INPUT_FORMATS)
        return InvalidAudio(
            f"the upload is not audio in a format we can read ({accepted})",
            reason=reason,
            size_bytes=size_bytes,
        )
    return InvalidAudio(
        "the audio file is damaged, truncated or encoded in a way we cannot decode",
        reason=reason,
        size_bytes=size_bytes,
    )


def _reason(exc: sf.SoundFileError) -> str:
    """libsndfile's own words, without soundfile's "Error opening <BytesIO at 0x...>" prefix."""
    text = getattr(exc, "error_string", None) or str(exc)
    return str(text).removeprefix("Error : ").strip()
