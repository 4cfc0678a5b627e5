"""The transcription service's limits and routing, with the fake STT engine (plumbing only)."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import soundfile as sf

from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioDurationOutOfRange,
    AudioTooLarge,
    EngineUnavailable,
    InvalidAudio,
    InvalidInput,
    UnknownModel,
)
from voxclone.core.types import Audio
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.transcription import TranscriptionRequest, TranscriptionService


def wav(seconds: float, rate: int = 16000, fmt: str = "WAV") -> bytes:
    samples = (0.1 * np.sin(np.arange(int(seconds * rate)) * 0.05)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt)
    return buf.getvalue()


def service(**limits: object) -> TranscriptionService:
    registry = EngineRegistry(
        [
            EngineSpec("fake-stt", "voxclone.engines.fake_stt:FakeTranscriber", kind="stt"),
            EngineSpec("broken", "voxclone.engines.no_such_module:Nothing", kind="stt"),
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
        ]
    )
    return TranscriptionService(
        engines=registry,
        limits=LimitSettings(**limits),  # type: ignore[arg-type]
        default_backend="fake-stt",
    )


async def test_transcribes_through_the_named_engine() -> None:
    result = await service().transcribe(data=wav(2.0), request=TranscriptionRequest())
    assert result.backend == "fake-stt"
    assert result.duration_s == 2.0
    assert result.transcript.text == "2.0 seconds of audio"


def test_whisper_1_means_the_default_engine() -> None:
    svc = service()
    assert svc.backend_for_model("whisper-1") == "fake-stt"
    assert svc.backend_for_model(None) == "fake-stt"
    assert svc.backend_for_model("fake-stt") == "fake-stt"


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "fake", "nope"])
def test_unknown_or_non_stt_model_is_refused(model: str) -> None:
    with pytest.raises(UnknownModel) as caught:
        service().backend_for_model(model)
    assert caught.value.details["known"] == ["whisper-1", "broken", "fake-stt"]


async def test_a_long_file_is_refused_from_its_header_quickly() -> None:
    # 2 hours of 8 kHz silence as FLAC: about 30 kB, 57.6 million samples if decoded.
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", 8000, 1, format="FLAC") as f:
        block = np.zeros(8000 * 60, dtype=np.float32)
        for _ in range(120):
            f.write(block)
    data = buf.getvalue()
    started = time.perf_counter()
    with pytest.raises(AudioDurationOutOfRange) as caught:
        service().decode(data)
    assert time.perf_counter() - started < 0.5
    assert caught.value.details == {"duration_s": 7200.0, "max_s": 3600.0}
    assert "the limit is 3600 s" in caught.value.message


def test_the_duration_limit_is_configurable() -> None:
    with pytest.raises(AudioDurationOutOfRange):
        service(max_speech_audio_s=1.0).decode(wav(1.5))
    assert service(max_speech_audio_s=2.0).decode(wav(1.5)).duration_s == 1.5


def test_too_short_is_refused() -> None:
    with pytest.raises(AudioDurationOutOfRange) as caught:
        service().decode(wav(0.2))
    assert "0.2 s long" in caught.value.message and caught.value.details["min_s"] == 0.3


def test_too_many_bytes_is_refused_before_decoding() -> None:
    with pytest.raises(AudioTooLarge) as caught:
        service(max_speech_upload_bytes=1000).decode(b"\0" * 1001)
    assert caught.value.details == {"max_bytes": 1000, "received_bytes": 1001}


def test_garbage_is_invalid_audio() -> None:
    with pytest.raises(InvalidAudio):
        service().decode(b"this is not audio at all" * 100)


@pytest.mark.parametrize(
    "request_",
    [TranscriptionRequest(temperature=1.5), TranscriptionRequest(prompt="x" * 2001)],
)
async def test_bad_options_are_refused(request_: TranscriptionRequest) -> None:
    with pytest.raises(InvalidInput):
        await service().transcribe(data=wav(1.0), request=request_)


async def test_an_unloadable_engine_is_unavailable() -> None:
    request = TranscriptionRequest(backend="broken")
    with pytest.raises(EngineUnavailable):
        await service().transcribe(data=wav(1.0), request=request)


async def test_reference_transcripts_never_fail() -> None:
    svc = service()
    silence = Audio(np.zeros(16000, dtype=np.float32), 16000)  # the fake fails on silence
    assert await svc.transcribe_reference(silence, language="en") is None
    speech = Audio(np.full(16000, 0.1, dtype=np.float32), 16000)
    assert await svc.transcribe_reference(speech, language="en") == "1.0 seconds of audio"
    missing = TranscriptionService(
        engines=EngineRegistry([]), limits=LimitSettings(), default_backend="whisper"
    )
    assert await missing.transcribe_reference(speech, language="en") is None
