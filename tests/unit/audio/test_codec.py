from __future__ import annotations

import csv
import io
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxclone.audio import (
    SUPPORTED_OUTPUT_FORMATS,
    decode_audio,
    encode_audio,
    media_type,
    probe_audio,
)
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    InvalidAudio,
    UnsupportedFormat,
)
from voxclone.core.types import Audio

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
EVAL_SPEECH = SHARED / "eval" / "speech"

# (libsndfile format, subtype, our family, lossless)
INPUTS = [
    ("WAV", "PCM_16", "wav", True),
    ("WAV", "FLOAT", "wav", True),
    ("FLAC", "PCM_16", "flac", True),
    ("OGG", "VORBIS", "ogg", False),
    ("OGG", "OPUS", "ogg", False),
    ("MP3", "MPEG_LAYER_III", "mp3", False),
]
OPUS_RATES = {16000, 48000}  # of the rates under test, those Opus accepts


def _input_cases() -> list[tuple[str, str, str, bool, int]]:
    return [
        (major, subtype, family, lossless, rate)
        for major, subtype, family, lossless in INPUTS
        for rate in (16000, 22050, 44100, 48000)
        if subtype != "OPUS" or rate in OPUS_RATES
    ]


def _wav_data_offset(wav: bytes) -> int:
    """Offset of the size field of the data chunk in a soundfile-written WAV."""
    return wav.index(b"data") + 4


# --- decoding what soundfile wrote --------------------------------------------------------------


@pytest.mark.parametrize(("major", "subtype", "family", "lossless", "rate"), _input_cases())
def test_decode_mono_round_trip(
    make_sine, make_file, dominant_frequency, major, subtype, family, lossless, rate
):
    original = make_sine(seconds=0.5, rate=rate)
    decoded = decode_audio(make_file(original.samples, rate, major, subtype))

    assert (decoded.format, decoded.subtype, decoded.channels) == (family, subtype, 1)
    assert decoded.sample_rate == decoded.audio.sample_rate == rate
    assert decoded.audio.samples.dtype == np.float32
    assert decoded.audio.samples.size == original.samples.size
    if lossless:
        np.testing.assert_allclose(decoded.audio.samples, original.samples, atol=1 / 32767)
    else:
        assert abs(dominant_frequency(decoded.audio) - 440) < 5


@pytest.mark.parametrize(("major", "subtype", "family", "lossless", "rate"), _input_cases())
def test_decode_stereo_is_averaged_to_mono(
    make_sine, make_file, major, subtype, family, lossless, rate
):
    left = make_sine(seconds=0.5, rate=rate, freq=440, amplitude=0.6).samples
    right = make_sine(seconds=0.5, rate=rate, freq=440, amplitude=0.2).samples
    stereo = np.stack([left, right], axis=1)

    decoded = decode_audio(make_file(stereo, rate, major, subtype))

    assert decoded.channels == 2
    assert decoded.audio.samples.ndim == 1
    assert decoded.audio.samples.size == left.size
    expected = (left + right) / 2
    if lossless:
        np.testing.assert_allclose(decoded.audio.samples, expected, atol=1 / 32767)
    else:
        # Amplitude 0.4 (not 0.6, not 0.8): the channels were averaged, not summed or picked.
        peak = float(np.max(np.abs(decoded.audio.samples)))
        assert 0.34 < peak < 0.46


def test_decode_real_recordings():
    manifest = EVAL_SPEECH / "manifest.csv"
    if not manifest.exists():
        pytest.skip("shared evaluation recordings are not present")
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for suffix, family in ((".flac", "flac"), (".wav", "wav")):
        row = next(r for r in rows if r["path"].endswith(suffix))
        decoded = decode_audio((EVAL_SPEECH / row["path"]).read_bytes(), max_seconds=60)

        assert decoded.format == family
        assert decoded.sample_rate == int(row["sample_rate"])
        assert decoded.audio.duration_s == pytest.approx(float(row["duration_s"]), abs=0.01)
        assert 0 < np.max(np.abs(decoded.audio.samples)) <= 1


def test_decode_float_wav_above_full_scale_is_clipped(make_file):
    samples = np.array([0.0, 1.5, -2.0, 0.25], dtype=np.float32)
    decoded = decode_audio(make_file(samples, 8000, "WAV", "FLOAT"))
    np.testing.assert_array_equal(decoded.audio.samples, [0.0, 1.0, -1.0, 0.25])


def test_probe_reads_the_header(make_sine, make_file):
    stereo = np.stack([make_sine(seconds=2.0, rate=22050).samples] * 2, axis=1)
    info = probe_audio(make_file(stereo, 22050, "FLAC", "PCM_24"))

    assert (info.format, info.subtype, info.channels) == ("flac", "PCM_24", 2)
    assert (info.sample_rate, info.frames) == (22050, 44100)
    assert info.duration_s == pytest.approx(2.0)


# --- input that is not acceptable audio ---------------------------------------------------------


def test_empty_upload_is_refused():
    with pytest.raises(InvalidAudio, match="empty"):
        decode_audio(b"")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"This is a text file that someone named voice.wav\n" * 20, id="text"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(500), id="zip-named-mp3"),
    ],
)
def test_non_audio_is_refused(data):
    with pytest.raises(InvalidAudio) as caught:
        decode_audio(data)
    assert caught.value.message == (
        "the upload is not audio in a format we can read (WAV, FLAC, OGG, MP3)"
    )
    assert caught.value.details["reason"] == "Format not recognised."
    with pytest.raises(InvalidAudio):
        probe_audio(data)


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_are_refused(seed):
    # Some random bytes start with an MPEG sync word: libsndfile then takes them for a broken
    # MP3 rather than an unknown format. Either way they are InvalidAudio.
    data = np.random.default_rng(seed).bytes(4096)
    with pytest.raises(InvalidAudio) as caught:
        decode_audio(data)
    assert caught.value.details["reason"]
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(("major", "found"), [("AIFF", "AIFF"), ("AU", "AU"), ("CAF", "CAF")])
def test_formats_libsndfile_reads_but_we_do_not_accept(make_sine, make_file, major, found):
    data = make_file(make_sine().samples, 16000, major, "PCM_16")
    with pytest.raises(UnsupportedFormat) as caught:
        decode_audio(data)
    assert caught.value.details == {"found": found, "accepted": ["wav", "flac", "ogg", "mp3"]}
    assert found in caught.value.message
    with pytest.raises(UnsupportedFormat):
        probe_audio(data)


def test_wav_truncated_in_its_data_chunk(make_sine, make_file):
    wav = make_file(make_sine(seconds=1.0).samples, 16000, "WAV", "PCM_16")
    cut = wav[: len(wav) // 2]
    data_start = _wav_data_offset(wav) + 4

    with pytest.raises(InvalidAudio, match="truncated") as caught:
        decode_audio(cut)
    assert caught.value.details == {
        "chunk": "data",
        "declared_bytes": 32000,
        "present_bytes": len(cut) - data_start,
    }
    with pytest.raises(InvalidAudio, match="truncated"):
        probe_audio(cut)


def test_wav_claiming_a_huge_length_is_refused_without_allocating(make_sine, make_file):
    wav = bytearray(make_file(make_sine(seconds=1.0).samples, 16000, "WAV", "PCM_16"))
    size_at = _wav_data_offset(wav)
    wav[size_at : size_at + 4] = struct.pack("<I", 0xFFFFFFF0)

    tracemalloc.start()
    try:
        with pytest.raises(InvalidAudio, match="truncated") as caught:
            decode_audio(bytes(wav))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.details["declared_bytes"] == 0xFFFFFFF0
    assert caught.value.details["present_bytes"] == 32000
    assert peak < 1_000_000


def test_hand_built_two_hour_wav_header_with_little_data_is_refused():
    rate, seconds = 8000, 2 * 3600
    data_size = rate * 2 * seconds
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )
    with pytest.raises(InvalidAudio, match="truncated"):
        decode_audio(header + bytes(16000), max_seconds=60)


def test_wav_without_a_data_chunk(make_sine, make_file):
    wav = make_file(make_sine().samples, 16000, "WAV", "PCM_16")
    header_only = wav[: _wav_data_offset(wav) - 4]
    with pytest.raises(InvalidAudio, match="no 'data' chunk"):
        decode_audio(header_only)


def test_wav_with_an_overlong_chunk_before_its_data(make_sine, make_file):
    wav = make_file(make_sine().samples, 16000, "WAV", "PCM_16")
    fmt_size_at = wav.index(b"fmt ") + 4
    broken = wav[:fmt_size_at] + struct.pack("<I", 10**6) + wav[fmt_size_at + 4 :]
    with pytest.raises(InvalidAudio) as caught:
        decode_audio(broken)
    assert caught.value.details["chunk"] == "fmt "
    assert caught.value.details["declared_bytes"] == 10**6


@pytest.mark.parametrize(("major", "subtype"), [("WAV", "PCM_16"), ("WAV", "FLOAT")])
def test_file_with_zero_frames(make_file, major, subtype):
    data = make_file(np.zeros(0, dtype=np.float32), 16000, major, subtype)
    assert probe_audio(data).frames == 0
    with pytest.raises(InvalidAudio, match="no samples"):
        decode_audio(data)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_wav_with_non_finite_samples(make_sine, make_file, bad):
    samples = make_sine().samples.copy()
    samples[100] = bad
    with pytest.raises(InvalidAudio, match="NaN or infinite") as caught:
        decode_audio(make_file(samples, 16000, "WAV", "FLOAT"))
    assert caught.value.details == {"nonfinite_samples": 1}


@pytest.mark.parametrize(("major", "subtype"), [("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_truncated_compressed_file(make_sine, make_file, major, subtype):
    data = make_file(make_sine(seconds=2.0).samples, 16000, major, subtype)
    with pytest.raises(InvalidAudio, match="damaged, truncated") as caught:
        decode_audio(data[: len(data) // 2])
    assert caught.value.__cause__ is not None
    assert caught.value.details["reason"]


# --- max_seconds --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_hour_flac() -> bytes:
    """Two hours of 8 kHz silence as FLAC: a real, consistent file of about 180 kB."""
    buffer = io.BytesIO()
    minute = np.zeros(8000 * 60, dtype=np.float32)
    with sf.SoundFile(buffer, "w", 8000, 1, format="FLAC", subtype="PCM_16") as out:
        for _ in range(120):
            out.write(minute)
    return buffer.getvalue()


def _flac_metadata_end(flac: bytes) -> int:
    position = 4  # after "fLaC"
    while True:
        block_type, length = (
            flac[position],
            int.from_bytes(flac[position + 1 : position + 4], "big"),
        )
        position += 4 + length
        if block_type & 0x80:  # the last metadata block
            return position


def test_max_seconds_refuses_a_long_file(two_hour_flac):
    assert probe_audio(two_hour_flac).duration_s == pytest.approx(7200)
    with pytest.raises(AudioDurationOutOfRange) as caught:
        decode_audio(two_hour_flac, max_seconds=60)
    assert caught.value.details == {"duration_s": 7200.0, "max_s": 60}


def test_max_seconds_is_checked_from_the_header_before_decoding(two_hour_flac):
    # Keep only the header: decoding any sample would fail, so only an early check can pass.
    header_only = two_hour_flac[: _flac_metadata_end(two_hour_flac)]
    with pytest.raises(InvalidAudio):
        decode_audio(header_only)
    with pytest.raises(AudioDurationOutOfRange):
        decode_audio(header_only, max_seconds=60)


def test_max_seconds_lets_a_shorter_file_through(make_sine, make_file):
    decoded = decode_audio(make_file(make_sine(seconds=1.0).samples, 16000), max_seconds=1.5)
    assert decoded.audio.duration_s == pytest.approx(1.0)


def _without_total_samples(flac: bytes) -> bytes:
    """``flac`` with 0 (unknown) total samples in STREAMINFO, as encoders writing to a pipe do."""
    assert flac[:4] == b"fLaC" and flac[4] & 0x7F == 0  # STREAMINFO comes first
    assert int.from_bytes(flac[5:8], "big") == 34
    # STREAMINFO starts at byte 8; its 36-bit total samples are the low 4 bits of byte 21 and
    # bytes 22-25 of the file.
    patched = bytearray(flac)
    patched[21] &= 0xF0
    patched[22:26] = bytes(4)
    return bytes(patched)


def _total_samples(flac: bytes) -> int:
    return ((flac[21] & 0x0F) << 32) | int.from_bytes(flac[22:26], "big")


def test_flac_of_unknown_length_is_decoded(make_sine, make_file):
    original = make_sine(seconds=2.5, rate=16000)
    flac = make_file(original.samples, 16000, format="FLAC")
    assert _total_samples(flac) == 40000
    unknown = _without_total_samples(flac)
    assert _total_samples(unknown) == 0
    assert not probe_audio(unknown).length_known

    for limit in (None, 2.5, 60):
        decoded = decode_audio(unknown, max_seconds=limit)
        assert decoded.format == "flac"
        assert decoded.audio.samples.size == 40000
        np.testing.assert_allclose(decoded.audio.samples, original.samples, atol=1e-3)


def test_flac_of_unknown_length_is_refused_while_decoding_once_past_the_limit(two_hour_flac):
    unknown = _without_total_samples(two_hour_flac)
    tracemalloc.start()
    try:
        with pytest.raises(AudioDurationOutOfRange) as caught:
            decode_audio(unknown, max_seconds=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.details["max_s"] == 60
    assert 60 < caught.value.details["min_duration_s"] < 70
    # Two hours at 8 kHz is 230 MB of float32; reading stops a block past one minute.
    assert peak < 20_000_000


# --- encoding -----------------------------------------------------------------------------------

ENCODED = [("wav", "wav"), ("flac", "flac"), ("mp3", "mp3"), ("ogg", "ogg"), ("opus", "ogg")]


@pytest.mark.parametrize(("fmt", "family"), ENCODED)
@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_encode_round_trip(make_sine, dominant_frequency, fmt, family, rate):
    original = make_sine(seconds=0.5, rate=rate)
    decoded = decode_audio(encode_audio(original, fmt))

    assert decoded.format == family
    expected_rate = 48000 if fmt == "opus" and rate not in OPUS_RATES else rate
    assert decoded.sample_rate == expected_rate
    assert decoded.audio.duration_s == pytest.approx(0.5, abs=0.001)
    assert abs(dominant_frequency(decoded.audio) - 440) < 5
    if fmt in ("wav", "flac"):
        assert decoded.subtype == "PCM_16"
        np.testing.assert_allclose(decoded.audio.samples, original.samples, atol=1 / 32767)


def test_encode_resamples_on_request(make_sine):
    decoded = decode_audio(encode_audio(make_sine(seconds=1.0, rate=16000), sample_rate=8000))
    assert decoded.sample_rate == 8000
    assert decoded.audio.samples.size == 8000


def test_encode_mp3_moves_to_a_rate_the_encoder_accepts(make_sine):
    decoded = decode_audio(encode_audio(make_sine(rate=17000), "mp3"))
    assert decoded.sample_rate == 22050


def test_encode_pcm_is_raw_s16le_like_the_data_chunk_of_a_wav(make_sine):
    audio = make_sine(seconds=0.25, rate=24000)
    pcm = encode_audio(audio, "pcm")
    wav = encode_audio(audio, "wav")

    assert len(pcm) == 2 * audio.samples.size
    assert wav[-len(pcm) :] == pcm
    assert np.frombuffer(pcm, "<i2").max() == round(0.5 * 32768)


def test_encode_wav_writes_the_header_libsndfile_writes(make_sine):
    audio = make_sine(seconds=0.25, rate=22050)
    theirs = io.BytesIO()
    sf.write(theirs, audio.samples, audio.sample_rate, format="WAV", subtype="PCM_16")
    ours = encode_audio(audio, "wav")

    assert len(ours) == len(theirs.getvalue())
    assert ours[:44] == theirs.getvalue()[:44]
    assert decode_audio(ours).audio.samples.size == audio.samples.size


def test_encode_clips_instead_of_wrapping():
    audio = Audio(np.array([1.5, -1.5, 0.5], dtype=np.float32), 8000)
    assert np.frombuffer(encode_audio(audio, "pcm"), "<i2").tolist() == [32767, -32768, 16384]
    decoded = decode_audio(encode_audio(audio, "wav")).audio.samples
    assert decoded[0] > 0.99 and decoded[1] == -1.0


def test_encode_empty_audio():
    empty = Audio(np.zeros(0, dtype=np.float32), 16000)
    assert encode_audio(empty, "pcm") == b""
    with pytest.raises(ValueError, match="empty"):
        encode_audio(empty, "flac")


def test_encode_unknown_format(make_sine):
    with pytest.raises(UnsupportedFormat) as caught:
        encode_audio(make_sine(), "aiff")
    assert caught.value.details["supported"] == list(SUPPORTED_OUTPUT_FORMATS)
    assert "'aiff'" in caught.value.message


def test_media_types():
    assert {fmt: media_type(fmt) for fmt in SUPPORTED_OUTPUT_FORMATS} == {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "flac": "audio/flac",
        "ogg": "audio/ogg",
        "opus": "audio/ogg",
        "pcm": "application/octet-stream",
    }
    with pytest.raises(UnsupportedFormat):
        media_type("m4a")
