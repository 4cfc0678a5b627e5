"""VOXCLONE_TTS_MODE=remote and VOXCLONE_WHISPER_MODE=remote|openai-api: a gateway with no
local model, configured with the voicebox variables alone."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.conftest import ADMIN_KEY, make_settings, tone_wav
from tests.remote.standins import openai_app
from voxclone.api.app import create_app
from voxclone.config import RemoteSettings, Settings
from voxclone.core.errors import ProviderRejected
from voxclone.core.types import Audio
from voxclone.engines.engines_file import engine_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

LOOPBACK = RemoteSettings(allow_loopback_urls=True, backoff_s=0, max_backoff_s=0)


async def test_tts_mode_remote_needs_no_local_model(tmp_path, provider) -> None:
    a, b = provider(api_key="provider-secret"), provider(api_key="provider-secret")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="test",
        data_dir=tmp_path / "data",
        admin_key=ADMIN_KEY,
        tts_mode="remote",
        tts_remote_url=f"{a.url}, {b.url}",
        tts_api_key="provider-secret",
        remote=LOOPBACK,
    )
    assert settings.default_backend == "remote"
    services = build_services(settings)
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gw") as c,
    ):
        key = await c.post("/v1/keys", json={}, headers={"X-API-Key": ADMIN_KEY})
        user = {"Authorization": f"Bearer {key.json()['api_key']}"}
        r = await c.post(
            "/v1/voices",
            data={"name": "v"},
            files={"ref_audio": ("ref.wav", tone_wav())},
            headers=user,
        )
        assert r.status_code == 201, r.text
        assert r.json()["backend"] == "remote"
        voice = r.json()["voice_id"]
        for i in range(4):
            r = await c.post(f"/v1/text-to-speech/{voice}", json={"text": f"Hi {i}."}, headers=user)
            assert r.status_code == 200 and r.headers["X-Backend"] == "remote", r.text
        assert (a.engine.synthesis_calls, b.engine.synthesis_calls) == (2, 2)
        assert not services.engines.is_loaded("piper")  # no local model was ever loaded
        assert (await c.get("/health")).json()["status"] == "healthy"


async def test_a_wrong_provider_key_is_a_refusal(tmp_path, provider) -> None:
    p = provider(api_key="provider-secret")
    settings = make_settings(
        tmp_path,
        tts_mode="remote",
        tts_remote_url=p.url,
        tts_api_key="not-the-secret",
        remote=LOOPBACK,
    )
    registry = EngineRegistry(engine_specs(settings))
    try:
        engine = registry.get_tts("remote")
        with pytest.raises(ProviderRejected, match="X-API-Key"):
            engine.create_voice_prompt(Audio(np.full(64000, 0.2, dtype=np.float32), 16000), None)
    finally:
        registry.close()


def test_tts_mode_remote_needs_a_url() -> None:
    with pytest.raises(ValueError, match="VOXCLONE_TTS_REMOTE_URL"):
        Settings(_env_file=None, tts_mode="remote")  # type: ignore[call-arg]


def test_an_explicit_default_backend_wins(tmp_path) -> None:
    settings = make_settings(
        tmp_path, tts_mode="remote", tts_remote_url="http://127.0.0.1:9", default_backend="piper"
    )
    assert settings.default_backend == "piper"
    assert {"remote", "piper"} <= {s.name for s in engine_specs(settings)}


def test_whisper_mode_remote_uses_a_provider_server(tmp_path, provider) -> None:
    p = provider(kind="stt")
    settings = make_settings(
        tmp_path, whisper_mode="remote", whisper_remote_url=p.url, remote=LOOPBACK
    )
    registry = EngineRegistry(engine_specs(settings))
    try:
        stt = registry.get_stt("whisper")
        result = stt.transcribe(Audio(np.full(32000, 0.2, dtype=np.float32), 16000), "en")
        assert result.text == "2.0 seconds of audio"
        assert [(s.start_s, s.end_s, s.text) for s in result.segments] == [
            (0.0, 1.0, "2.0 seconds"),
            (1.0, 2.0, "of audio"),
        ]
        assert result.language == "en"
        assert result.duration_s == pytest.approx(2.0)
        assert p.engine.calls == 1
    finally:
        registry.close()


def test_whisper_mode_openai_api(tmp_path, serve) -> None:
    url = serve(openai_app(api_key="sk-openai"))
    settings = make_settings(
        tmp_path,
        whisper_mode="openai-api",
        whisper_remote_url=url,
        openai_api_key="sk-openai",
        remote=LOOPBACK,
    )
    registry = EngineRegistry(engine_specs(settings))
    try:
        result = registry.get_stt("whisper").transcribe(
            Audio(np.full(48000, 0.2, dtype=np.float32), 16000)
        )
        assert result.text == "A tone of 3 seconds."
        assert len(result.segments) == 2
    finally:
        registry.close()


def test_whisper_mode_openai_api_defaults_to_openai(tmp_path) -> None:
    settings = make_settings(tmp_path, whisper_mode="openai-api", openai_api_key="sk-x")
    whisper = next(s for s in engine_specs(settings) if s.name == "whisper")
    assert whisper.kind == "stt" and whisper.remote
    assert whisper.options["urls"] == ["https://api.openai.com"]
    assert whisper.options["api_key"] == "sk-x"
