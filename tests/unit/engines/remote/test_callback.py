"""CallbackEngine with httpx's MockTransport at the network boundary (no sockets)."""

import base64
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from tests.conftest import make_settings

from voxclone.core.errors import JobsOnlyBackend, ProviderRejected
from voxclone.core.types import Audio
from voxclone.engines.base import CallbackTrigger, CallbackTTSEngine, SynthesisParams
from voxclone.engines.engines_file import engine_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.engines.remote.callback import CallbackEngine

URL = "http://10.0.0.9:8000"
POLICY = {"allow_private_urls": True, "backoff_s": 0.0, "max_backoff_s": 0.0}


def engine(handler, **options) -> CallbackEngine:  # type: ignore[no-untyped-def]
    return CallbackEngine(
        "modal", [URL], policy=POLICY, transport=httpx.MockTransport(handler), **options
    )


def job(prompt: dict) -> CallbackTrigger:
    return CallbackTrigger(
        job_id="j1",
        voice_id="v1",
        text="Hello.",
        prompt=prompt,
        params=SynthesisParams(language="en", speed=1.5, seed=7),
        cache_key="k" * 64,
        callback_url="http://gateway/v1/jobs/j1/complete",
        callback_secret="s3cret",
    )


def test_the_voice_prompt_is_the_reference_clip_and_its_transcript() -> None:
    clip = Audio(np.sin(np.linspace(0, 100, 16000)).astype(np.float32) * 0.5, 16000)
    prompt = engine(lambda r: httpx.Response(500)).create_voice_prompt(clip, "hi there")
    samples, rate = sf.read(io.BytesIO(base64.b64decode(prompt["ref_audio_b64"])))
    assert rate == 16000 and len(samples) == 16000
    assert prompt["ref_text"] == "hi there"
    json.dumps(prompt)  # stored with the voice as JSON


def test_a_trigger_posts_the_job_with_the_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"status": "accepted"})

    eng = engine(handler, api_key="k", trigger_path="/run")
    eng.trigger(job({"ref_audio_b64": "AAAA", "ref_text": "hi"}))

    (request,) = seen
    assert str(request.url) == f"{URL}/run"
    assert request.headers["authorization"] == "Bearer k" and request.headers["x-api-key"] == "k"
    body = json.loads(request.content)
    assert body["job_id"] == "j1" and body["callback_secret"] == "s3cret"
    assert body["callback_url"] == "http://gateway/v1/jobs/j1/complete"
    assert body["ref_audio_b64"] == "AAAA" and body["ref_text"] == "hi"
    assert body["voice_prompt"] == {"ref_audio_b64": "AAAA", "ref_text": "hi"}
    assert body["params"] == {"speed": 1.5, "seed": 7, "temperature": None}
    assert body["language"] == body["lang"] == "en" and body["backend_name"] == "modal"


def test_a_refused_trigger_says_what_the_worker_said() -> None:
    eng = engine(lambda r: httpx.Response(400, json={"message": "unknown model"}))
    with pytest.raises(ProviderRejected, match="unknown model"):
        eng.trigger(job({}))


def test_synthesize_refuses_and_points_to_jobs() -> None:
    eng = engine(lambda r: httpx.Response(500))
    with pytest.raises(JobsOnlyBackend, match="POST /v1/synthesize"):
        eng.synthesize("Hello.", {}, SynthesisParams())
    assert isinstance(eng, CallbackTTSEngine)
    assert eng.capabilities().cloning and not eng.capabilities().streaming


def test_the_engines_file_declares_callback_engines(tmp_path: Path) -> None:
    path = tmp_path / "engines.toml"
    path.write_text(
        f"""
        [[engines]]
        name = "modal"
        type = "callback"
        urls = ["{URL}"]
        api_key = "k"
        allow_private_urls = true
        options = {{ model = "qwen3", languages = ["en", "de"], trigger_path = "/trigger" }}
        """,
        encoding="utf-8",
    )
    specs = {s.name: s for s in engine_specs(make_settings(tmp_path, engines_file=path))}
    assert specs["modal"].target == "voxclone.engines.remote.callback:CallbackEngine"
    eng = EngineRegistry(list(specs.values())).get_tts("modal")
    assert isinstance(eng, CallbackEngine)
    assert eng.version == "callback:qwen3"
    assert eng.capabilities().languages == {"en", "de"}
    eng.close()
