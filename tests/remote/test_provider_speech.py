"""Remote noise suppression and speaker embeddings: the ``provider`` engines of kinds ``denoise``
and ``embed`` against a real ``voxclone provider serve --engine deepfilternet --engine
resemblyzer`` on loopback, and against servers that fail, stall or answer garbage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.conftest import EVAL_SPEECH, make_settings
from tests.denoise_audio import clean_speech, snr_db, with_white_noise
from tests.remote.conftest import FAKE_ENGINE, TEST_POLICY, engine_entry
from tests.remote.scripted import ScriptedSpeech
from tests.remote.servers import ProviderProcess
from voxclone.core.errors import (
    EngineUnavailable,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
)
from voxclone.core.types import Audio
from voxclone.engines.base import Denoiser, Embedder
from voxclone.engines.engines_file import EnginesFileError, engine_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.engines.remote.provider import ProviderDenoiser, ProviderEmbedder
from voxclone.engines.speaker import ResemblyzerEmbedder, similarity

pytestmark = pytest.mark.engine

SPEAKER_A = ("librispeech_test-other/1688/1688-142285-0003.flac", 5.1)
SPEAKER_A2 = ("librispeech_test-other/1688/1688-142285-0004.flac", 4.5)
SPEAKER_B = ("librispeech_test-other/1998/1998-15444-0001.flac", 6.0)
REAL_POLICY = {**TEST_POLICY, "timeout_s": 60.0}
"""Real models on two shared cores: the first call warms up, and other tests compete."""


def eval_clip(path: str) -> Audio:
    samples, rate = sf.read(EVAL_SPEECH / path, dtype="float32")
    return Audio(np.asarray(samples, dtype=np.float32), int(rate))


@pytest.fixture
def denoiser(speech_provider: ProviderProcess) -> Iterator[ProviderDenoiser]:
    engine = ProviderDenoiser("df", urls=[speech_provider.url], policy=REAL_POLICY)
    yield engine
    engine.close()


@pytest.fixture
def embedder(speech_provider: ProviderProcess) -> Iterator[ProviderEmbedder]:
    engine = ProviderEmbedder(
        "voiceprint", urls=[speech_provider.url], policy=REAL_POLICY, model="resemblyzer"
    )
    yield engine
    engine.close()


def test_health_lists_what_the_server_can_do(speech_provider: ProviderProcess) -> None:
    body = httpx.get(f"{speech_provider.url}/health").json()
    assert body["status"] == "healthy"
    assert body["capabilities"] == ["denoise", "embed"]
    assert body["engines"]["denoise"]["engine"] == "deepfilternet"
    assert "DeepFilterNet3" in body["engines"]["denoise"]["model"]
    assert body["engines"]["embed"] == {"engine": "resemblyzer", "model": "resemblyzer-ge2e-256"}
    # Routes of kinds it does not serve are not there.
    assert httpx.post(f"{speech_provider.url}/v1/generate", json={"text": "Hi."}).status_code == 404


def test_remote_denoiser_raises_snr_and_keeps_length(denoiser: ProviderDenoiser) -> None:
    assert isinstance(denoiser, Denoiser)
    clean, rate = clean_speech()
    noisy = with_white_noise(clean, snr_db=5.0)
    out = denoiser.denoise(Audio(noisy, rate))
    assert out.sample_rate == rate and out.samples.size == clean.size
    # The local engine gains +9 dB on this clip (tests/unit/engines/test_deepfilter.py).
    assert snr_db(clean, out.samples) - snr_db(clean, noisy) > 6.0
    assert denoiser.endpoints()[0].requests == 1


def test_remote_denoiser_refuses_live_streams(denoiser: ProviderDenoiser) -> None:
    with pytest.raises(EngineUnavailable, match="whole clips only; live streams need"):
        denoiser.open_stream(16000)


def test_remote_embedding_is_the_local_one(embedder: ProviderEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    assert embedder.version == "provider:resemblyzer"
    local = ResemblyzerEmbedder()
    a, a2, b = (eval_clip(path) for path, _ in (SPEAKER_A, SPEAKER_A2, SPEAKER_B))
    remote_a = embedder.embed(a)
    assert remote_a.dtype == np.float32 and remote_a.shape == (256,)
    assert float(np.linalg.norm(remote_a)) == pytest.approx(1.0, abs=1e-5)
    assert similarity(remote_a, local.embed(a)) > 0.99
    # Same speaker close, another speaker far: the vectors carry the voice, not a constant.
    assert similarity(remote_a, embedder.embed(a2)) > similarity(remote_a, embedder.embed(b))
    assert similarity(embedder.embed(b), local.embed(b)) > 0.99


def test_a_clip_too_short_to_embed_is_refused_not_retried(
    embedder: ProviderEmbedder, speech_provider: ProviderProcess
) -> None:
    before = httpx.get(f"{speech_provider.url}/health").json()["requests"].get("embed", 0)
    with pytest.raises(ProviderRejected, match="too short to embed") as caught:
        embedder.embed(Audio(np.full(3200, 0.1, dtype=np.float32), 16000))  # 0.2 s
    assert caught.value.details["provider_status"] == 422
    after = httpx.get(f"{speech_provider.url}/health").json()["requests"]["embed"]
    assert after == before + 1  # a refusal is not retried
    assert embedder.endpoints()[0].state == "up"


# --- servers that stall, fail or answer garbage -----------------------------------------------


def call(kind: str, urls: list[str], **policy: Any) -> Any:
    """One denoise or embed call on a fresh remote engine over ``urls``."""
    audio = Audio(np.full(16000, 0.1, dtype=np.float32), 16000)
    options = {**TEST_POLICY, **policy}
    if kind == "denoise":
        engine: Any = ProviderDenoiser("remote-df", urls=urls, policy=options)
        try:
            return engine.denoise(audio)
        finally:
            engine.close()
    engine = ProviderEmbedder("remote-embed", urls=urls, policy=options)
    try:
        return engine.embed(audio)
    finally:
        engine.close()


@pytest.mark.parametrize("kind", ["denoise", "embed"])
def test_plumbing_round_trip(provider, kind: str) -> None:
    p = provider(engine=ScriptedSpeech(), kind=kind)
    result = call(kind, [p.url])
    if kind == "denoise":
        assert result.samples == pytest.approx(np.full(16000, 0.05), abs=1e-4)
    else:
        assert result.tolist() == [0.5, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("kind", ["denoise", "embed"])
def test_a_slow_provider_times_out_without_retry(provider, kind: str) -> None:
    slow = ScriptedSpeech(delay_s=1.0)
    p, q = provider(engine=slow, kind=kind), provider(engine=slow, kind=kind)
    with pytest.raises(ProviderTimeout, match="timed out waiting for the reply"):
        call(kind, [p.url, q.url], timeout_s=0.3)
    assert slow.calls == 1  # it may still be working: not sent again


@pytest.mark.parametrize("kind", ["denoise", "embed"])
def test_a_failing_provider_is_retried_elsewhere_then_502(provider, kind: str) -> None:
    a, b = ScriptedSpeech(fail=True), ScriptedSpeech(fail=True)
    urls = [provider(engine=a, kind=kind).url, provider(engine=b, kind=kind).url]
    with pytest.raises(ProviderError, match="answered 500: engine 'scripted' failed") as caught:
        call(kind, urls)
    assert caught.value.code == "provider_error"
    assert caught.value.details["provider_status"] == 500
    assert a.calls >= 1 and b.calls >= 1


def garbage_app(reply: Response) -> FastAPI:
    """A provider whose ``/v1/denoise`` and ``/v1/embed`` both answer ``reply``."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.post("/v1/denoise")
    @app.post("/v1/embed")
    async def answer() -> Response:
        return reply

    return app


def raw(samples: np.ndarray, rate: int = 16000) -> Response:
    headers = {"X-Sample-Rate": str(rate), "X-Dtype": "float32"}
    body = samples.astype("<f4").tobytes()
    return Response(body, media_type="application/octet-stream", headers=headers)


@pytest.mark.parametrize(
    ("kind", "reply", "problem"),
    [
        ("denoise", raw(np.zeros(8000)), "sent 16000 samples at 16000 Hz, got back 8000"),
        ("denoise", raw(np.zeros(16000), rate=48000), "got back 16000 at 48000 Hz"),
        ("denoise", raw(np.full(16000, np.nan)), "NaN"),
        ("denoise", PlainTextResponse("<html>proxy error</html>"), "not JSON"),
        ("embed", JSONResponse({"embedding": []}), "'embedding' is missing, empty"),
        ("embed", JSONResponse({"embedding": [0.0, 0.0]}), "all zeros"),
        ("embed", JSONResponse({"embedding": [1, "x"]}), "other than numbers"),
        ("embed", JSONResponse({"embedding": [0.6, 0.8], "dim": 3}), "'dim' says 3"),
        ("embed", PlainTextResponse("<html>proxy error</html>"), "not JSON"),
    ],
)
def test_garbage_is_a_provider_error(serve, kind: str, reply: Response, problem: str) -> None:
    url = serve(garbage_app(reply))
    with pytest.raises(ProviderError, match="unusable reply") as caught:
        call(kind, [url], retries=0)
    assert problem in caught.value.message


# --- the engines file -------------------------------------------------------------------------


def registry_for(tmp_path: Path, entries: str) -> EngineRegistry:
    path = tmp_path / "engines.toml"
    path.write_text(entries, encoding="utf-8")
    return EngineRegistry(engine_specs(make_settings(tmp_path / "data", engines_file=path)))


def test_engines_file_declares_remote_denoise_and_embed(
    tmp_path: Path, speech_provider: ProviderProcess
) -> None:
    registry = registry_for(
        tmp_path,
        engine_entry("df", "provider", kind="denoise", urls=[speech_provider.url], timeout_s=60)
        + engine_entry(
            "voiceprint",
            "provider",
            kind="embed",
            urls=[speech_provider.url],
            timeout_s=60,
            fallback="resemblyzer",
            options={"model": "resemblyzer"},
        ),
    )
    try:
        df = registry.get_denoiser("df")
        assert isinstance(df, ProviderDenoiser) and registry.spec("df").remote
        clean, rate = clean_speech(1.0)
        assert df.denoise(Audio(clean, rate)).samples.size == clean.size
        voiceprint = registry.get_embedder("voiceprint")
        assert isinstance(voiceprint, ProviderEmbedder)
        assert voiceprint.version == "provider:resemblyzer"
        assert registry.health("voiceprint").available
    finally:
        registry.close()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            engine_entry("emb", "openai", kind="embed", urls=["https://api.openai.com"]),
            "type 'openai' has no embed engine; it serves tts, stt",
        ),
        (
            engine_entry("df", "gpt-sovits", kind="denoise", urls=["http://127.0.0.1:9880"]),
            "type 'gpt-sovits' has no denoise engine; it serves tts",
        ),
        (
            engine_entry(
                "df",
                "provider",
                kind="denoise",
                urls=["http://127.0.0.1:9"],
                fallback="resemblyzer",
            ),
            "is denoise but its fallback 'resemblyzer' is embed",
        ),
        (
            engine_entry("df", "provider", kind="vad", urls=["http://127.0.0.1:9"]),
            "kind: Input should be 'tts', 'stt', 'denoise' or 'embed'",
        ),
    ],
)
def test_engines_file_refuses_impossible_entries(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(EnginesFileError, match=message):
        registry_for(tmp_path, entry)


def test_serve_refuses_two_engines_of_one_kind(tmp_path: Path) -> None:
    engines = tmp_path / "engines.toml"
    engines.write_text(FAKE_ENGINE, encoding="utf-8")
    process = ProviderProcess(["fake", "piper"], engines, cwd=tmp_path).start()
    try:
        with pytest.raises(RuntimeError, match=r"exited with 1: .*'fake' and 'piper' are both tts"):
            process.wait_ready(timeout_s=60)
    finally:
        process.stop()
