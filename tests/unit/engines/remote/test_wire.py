import base64

import httpx
import numpy as np
import pytest

from voxclone.core.errors import ProviderError, ProviderRejected
from voxclone.engines.remote.wire import (
    EndpointFault,
    Reply,
    audio_from_file,
    audio_from_pcm_b64,
    audio_from_s16le,
    check_status,
    error_text,
    transcript_from_json,
)


def reply(status: int, content: bytes | str, content_type: str = "application/json") -> Reply:
    data = content.encode() if isinstance(content, str) else content
    return Reply(status, httpx.Headers({"content-type": content_type}), data)


def b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()


def test_pcm_b64_in_the_dtypes_providers_send() -> None:
    wave = np.linspace(-0.5, 0.5, 1000).astype("<f4")
    for dtype, scale in (("float32", 1.0), ("float64", 1.0), ("int16", 32768.0)):
        raw = (wave * scale).astype(np.dtype(dtype).newbyteorder("<"))
        audio = audio_from_pcm_b64(
            {"audio": b64(raw), "sample_rate": 24000, "dtype": dtype}, engine="e"
        )
        assert audio.sample_rate == 24000 and audio.samples.dtype == np.float32
        np.testing.assert_allclose(audio.samples, wave, atol=1e-4)
    default = audio_from_pcm_b64({"audio": b64(wave), "sample_rate": 16000}, engine="e")
    assert len(default.samples) == 1000  # no dtype: float32, as the spec's example sends


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "not a JSON object"),
        ({"sample_rate": 16000}, "'audio' is missing"),
        ({"audio": "AAAA", "sample_rate": "16k"}, "must be an integer"),
        ({"audio": "AAAA", "sample_rate": True}, "must be an integer"),
        ({"audio": "AAAA", "sample_rate": 16000, "dtype": "complex64"}, "'dtype'"),
        ({"audio": "%%%", "sample_rate": 16000}, "not valid base64"),
        ({"audio": "AAAAAAA=", "sample_rate": 16000}, "not whole float32 samples"),
        ({"audio": "", "sample_rate": 16000}, "empty"),
        ({"audio": "AAAAAA==", "sample_rate": 16000, "dtype": "int16"}, "outside"),
        ({"audio": b64(np.full(8, np.inf, "<f4")), "sample_rate": 16000}, "NaN or infinite"),
        ({"audio": b64(np.full(8, 1e6, "<f4")), "sample_rate": 16000}, "not float audio"),
    ],
)
def test_garbage_is_a_retryable_fault(body: object, problem: str) -> None:
    if isinstance(body, dict) and body.get("dtype") == "int16":
        body["sample_rate"] = 1  # a rate no audio has
    with pytest.raises(EndpointFault) as info:
        audio_from_pcm_b64(body, engine="e")
    assert problem in info.value.error.message
    assert info.value.eject and info.value.retry
    assert isinstance(info.value.error, ProviderError)


def test_audio_files_and_raw_pcm() -> None:
    from voxclone.audio import encode_audio
    from voxclone.core.types import Audio

    tone = Audio(np.full(800, 0.25, dtype=np.float32), 8000)
    decoded = audio_from_file(encode_audio(tone, "flac"), engine="e", max_seconds=10)
    assert decoded.sample_rate == 8000 and len(decoded.samples) == 800
    with pytest.raises(EndpointFault, match="cannot be decoded"):
        audio_from_file(b"<html>oops</html>", engine="e", max_seconds=10)
    pcm = audio_from_s16le(np.full(10, 16384, "<i2").tobytes(), 24000, engine="e")
    assert pcm.samples[0] == pytest.approx(0.5)
    with pytest.raises(EndpointFault, match="whole samples"):
        audio_from_s16le(b"\x00\x01\x02", 24000, engine="e")


@pytest.mark.parametrize(
    ("status", "body", "kind", "eject"),
    [
        (500, '{"error": "engine_error", "message": "boom", "details": {}}', ProviderError, True),
        (503, "overloaded", ProviderError, True),
        (429, '{"error": {"message": "slow down"}}', ProviderError, True),
        (400, '{"message": "text is required"}', ProviderRejected, False),
        (401, '{"detail": "Invalid API key"}', ProviderRejected, False),
        (404, "not here", ProviderRejected, False),
    ],
)
def test_status_classification(status: int, body: str, kind: type, eject: bool) -> None:
    with pytest.raises(EndpointFault) as info:
        check_status(reply(status, body), engine="e", url="http://x")
    assert type(info.value.error) is kind
    assert (info.value.eject, info.value.retry) == (eject, eject)
    assert info.value.error.details["provider_status"] == status
    check_status(reply(200, "{}"), engine="e", url="http://x")


def test_error_text_reads_every_known_shape() -> None:
    assert error_text(reply(400, '{"error": {"message": "bad voice"}}')) == "bad voice"
    assert error_text(reply(422, '{"error": "x", "message": "too long"}')) == "too long"
    assert error_text(reply(401, '{"detail": "nope"}')) == "nope"
    assert error_text(reply(400, '{"message": "tts failed", "Exception": "CUDA OOM"}')) == (
        "tts failed: CUDA OOM"
    )
    assert error_text(reply(502, "<html>bad gateway</html>")) == "<html>bad gateway</html>"
    assert len(error_text(reply(500, "x" * 10_000))) == 500


def test_transcripts() -> None:
    t = transcript_from_json(
        {
            "text": " Hello there. ",
            "language": "en",
            "duration": 2.5,
            "segments": [
                {"start": 0, "end": 1.2, "text": " Hello"},
                {"start": 1.2, "end": 2.5, "text": "there."},
            ],
        },
        engine="e",
    )
    assert t.text == "Hello there." and t.language == "en" and t.duration_s == 2.5
    assert [(s.start_s, s.end_s, s.text) for s in t.segments] == [
        (0, 1.2, "Hello"),
        (1.2, 2.5, "there."),
    ]
    plain = transcript_from_json({"text": "just text"}, engine="e")
    assert plain.segments == () and plain.language is None
    for bad in ({}, {"text": 3}, {"text": "x", "segments": [{"start": 2, "end": 1, "text": ""}]}):
        with pytest.raises(EndpointFault):
            transcript_from_json(bad, engine="e")
