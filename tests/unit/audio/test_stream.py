"""Streamed encodings: WAV of unknown length, plain MP3 frames from one encoder, raw PCM."""

from __future__ import annotations

import io
import itertools
import struct

import numpy as np
import pytest
import soundfile as sf

from voxclone.audio import StreamEncoder, check_stream_format, decode_audio, encode_audio
from voxclone.audio.codec import Mp3Frames, output_rate
from voxclone.audio.edit import fade_ends
from voxclone.audio.mp3 import parse_header, tag_frame_length
from voxclone.audio.stream import wav_stream_header
from voxclone.core.errors import AudioDurationOutOfRange, InvalidAudio, UnsupportedFormat
from voxclone.core.types import Audio


def stream(fmt: str, chunks: list[Audio], sample_rate: int | None = None) -> list[bytes]:
    encoder = StreamEncoder(fmt, sample_rate=sample_rate or chunks[0].sample_rate)
    try:
        return [encoder.encode(chunk) for chunk in chunks] + [encoder.finish()]
    finally:
        encoder.close()


def test_a_streamed_wav_reads_to_its_end(make_sine) -> None:
    chunks = [make_sine(0.5, 22050, freq=f) for f in (200, 300, 400)]
    pieces = stream("wav", chunks)
    assert pieces[0][:44] == wav_stream_header(22050) and pieces[-1] == b""
    data = b"".join(pieces)
    assert struct.unpack_from("<I", data, 4)[0] == struct.unpack_from("<I", data, 40)[0]
    assert struct.unpack_from("<I", data, 40)[0] == 0xFFFFFFFF
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 22050 and len(samples) == 3 * 11025
    decoded = decode_audio(data)
    assert decoded.format == "wav" and np.array_equal(decoded.audio.samples, samples)
    with pytest.raises(AudioDurationOutOfRange):
        decode_audio(data, max_seconds=1.0)  # the length comes from the bytes, not the header


def test_only_the_data_chunk_may_run_to_the_end(make_sine, make_file) -> None:
    wav = bytearray(make_file(make_sine().samples, 16000, "WAV", "PCM_16"))
    wav[16:20] = struct.pack("<I", 0xFFFFFFFF)  # the fmt chunk's size
    with pytest.raises(InvalidAudio, match="'fmt '"):
        decode_audio(bytes(wav))


def test_pcm_pieces_are_each_chunk_at_the_rate_asked(make_sine) -> None:
    chunks = [make_sine(0.5, 16000), make_sine(0.25, 16000)]
    pieces = stream("pcm", chunks, sample_rate=24000)
    assert [len(p) for p in pieces] == [2 * 12000, 2 * 6000, 0]
    first = np.frombuffer(pieces[0], dtype="<i2").astype(int)
    second = np.frombuffer(pieces[1], dtype="<i2").astype(int)
    assert np.abs(first[:30]).max() > 0.4 * 32768  # the very start is left alone
    assert abs(first[-1]) < 0.01 * 32768 and abs(second[0]) < 0.01 * 32768  # the seam: faded


def test_mp3_pieces_are_the_frames_of_one_encoder(make_sine) -> None:
    audio = make_sine(2.0, 24000, amplitude=0.3)
    whole = Mp3Frames(24000)
    at_once = whole.encode(audio.samples) + whole.finish()
    split = Mp3Frames(24000)
    cuts = [0, 1000, 1001, 9000, 30000, 48000]
    pieces = [split.encode(audio.samples[a:b]) for a, b in itertools.pairwise(cuts)]
    pieces.append(split.finish())
    assert b"".join(pieces) == at_once  # no seam: LAME keeps its state from piece to piece
    assert pieces[1] == b""  # one sample completes no frame
    assert tag_frame_length(at_once) == 0
    header = parse_header(at_once)
    assert header is not None and header.bitrate_kbps == 80 and header.sample_rate == 24000
    decoded = decode_audio(at_once)
    samples, rate = sf.read(io.BytesIO(at_once), dtype="float32")
    assert rate == decoded.sample_rate == 24000 and len(samples) == decoded.audio.samples.size
    # No Xing/Info frame to tell the decoder about the encoder's delay and padding: ~0.1 s more.
    assert 0 <= decoded.audio.duration_s - 2.0 < 0.12


def test_a_streamed_mp3_is_at_a_rate_the_encoder_takes(make_sine) -> None:
    pieces = stream("mp3", [make_sine(0.5, 16000), make_sine(0.5, 16000)], sample_rate=44000)
    decoded = decode_audio(b"".join(pieces))
    assert decoded.sample_rate == 44100
    assert 1.0 <= decoded.audio.duration_s < 1.1


def test_the_xing_frame_of_a_whole_file_is_found(make_sine) -> None:
    data = encode_audio(make_sine(1.0, 22050), "mp3")  # libsndfile's VBR, with a Xing frame
    length = tag_frame_length(data)
    assert length is not None and length > 0
    assert tag_frame_length(data[length:]) == 0
    assert tag_frame_length(data[:3]) is None and tag_frame_length(data[: length - 1]) is None
    with pytest.raises(ValueError, match="not an MPEG Layer III frame header"):
        tag_frame_length(b"RIFF....")


@pytest.mark.parametrize("fmt", ["flac", "ogg", "opus", "aiff"])
def test_formats_with_totals_in_their_headers_do_not_stream(fmt) -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        check_stream_format(fmt)
    assert caught.value.details == {"format": fmt, "supported": ["mp3", "wav", "pcm"]}
    with pytest.raises(UnsupportedFormat):
        StreamEncoder(fmt, sample_rate=16000)


@pytest.mark.parametrize(
    ("fmt", "asked", "written"),
    [("mp3", 22000, 22050), ("mp3", 96000, 48000), ("opus", 44100, 48000), ("wav", 22000, 22000)],
)
def test_output_rate(fmt, asked, written) -> None:
    assert output_rate(fmt, asked) == written


def test_fade_ends_leaves_the_original_alone() -> None:
    audio = Audio(np.ones(1000, dtype=np.float32), 16000)
    faded = fade_ends(audio, fade_in=True, fade_out=False, fade_ms=5.0)
    assert np.array_equal(audio.samples, np.ones(1000))
    assert faded.samples[0] < 0.05 and faded.samples[79] > 0.95 and faded.samples[-1] == 1.0
    short = fade_ends(Audio(np.ones(10, dtype=np.float32), 16000), fade_in=True, fade_out=True)
    assert short.samples.max() < 1.0  # shortened to fit: half the chunk each
