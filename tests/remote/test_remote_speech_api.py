"""The gateway's noise suppression and voice biometrics served by a provider: an engines file
replaces ``deepfilternet`` with a remote one, or names a remote embedder in
``biometrics.embedder``, and the HTTP API works as before while the provider does the work."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import EVAL_SPEECH
from tests.denoise_audio import clean_speech, snr_db, wav_bytes, with_white_noise
from tests.remote.conftest import engine_entry
from tests.remote.scripted import ScriptedSpeech
from tests.remote.servers import ProviderProcess
from voxclone.core.errors import EngineUnavailable

pytestmark = pytest.mark.engine

REMOTE_DENOISER = "deepfilternet"  # the name the denoise service uses: the entry replaces it


def served(provider_url: str, route: str) -> int:
    """How many ``route`` requests a provider server has had."""
    return int(httpx.get(f"{provider_url}/health").json()["requests"].get(route, 0))


async def test_denoise_endpoint_is_served_by_the_provider(
    gateway, speech_provider: ProviderProcess
) -> None:
    gw = await gateway(
        engine_entry(
            REMOTE_DENOISER, "provider", kind="denoise", urls=[speech_provider.url], timeout_s=60
        )
    )
    assert gw.services.engines.spec(REMOTE_DENOISER).remote
    clean, rate = clean_speech()
    noisy = with_white_noise(clean, snr_db=5.0)
    before = served(speech_provider.url, "denoise")
    r = await gw.client.post(
        "/v1/audio/denoise",
        files={"file": ("noisy.wav", wav_bytes(noisy, rate), "audio/wav")},
        headers=gw.user,
    )
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == REMOTE_DENOISER
    out, out_rate = sf.read(io.BytesIO(r.content), dtype="float32")
    assert out_rate == rate and out.size == clean.size
    assert snr_db(clean, out) - snr_db(clean, noisy) > 6.0
    assert served(speech_provider.url, "denoise") == before + 1
    # The gateway never loaded a denoising model of its own.
    assert gw.services.engines.get_denoiser(REMOTE_DENOISER).version.startswith("provider:")


async def test_live_streams_say_they_need_a_local_denoiser(
    gateway, speech_provider: ProviderProcess
) -> None:
    gw = await gateway(
        engine_entry(REMOTE_DENOISER, "provider", kind="denoise", urls=[speech_provider.url])
    )
    with pytest.raises(EngineUnavailable, match="live streams need a denoiser that runs here"):
        await gw.services.denoise.open_session(sample_rate=16000)
    assert gw.services.denoise.active == 0  # the slot was given back


async def test_a_failing_remote_denoiser_is_a_502(gateway, provider) -> None:
    p = provider(engine=ScriptedSpeech(fail=True), kind="denoise")
    gw = await gateway(engine_entry(REMOTE_DENOISER, "provider", kind="denoise", urls=[p.url]))
    r = await gw.client.post(
        "/v1/audio/denoise",
        files={"file": ("a.wav", wav_bytes(np.zeros(8000, dtype=np.float32), 16000))},
        headers=gw.user,
    )
    assert r.status_code == 502, r.text
    assert r.json()["error"] == "provider_error"
    assert r.json()["details"]["provider_status"] == 500


async def test_biometrics_on_a_remote_embedder(gateway, speech_provider: ProviderProcess) -> None:
    gw = await gateway(
        engine_entry(
            "voiceprint",
            "provider",
            kind="embed",
            urls=[speech_provider.url],
            timeout_s=60,
            options={"model": "resemblyzer"},
        ),
        biometrics={"embedder": "voiceprint"},
    )

    def audio(path: str) -> dict[str, tuple[str, bytes, str]]:
        return {"audio": ("clip.flac", (EVAL_SPEECH / path).read_bytes(), "audio/flac")}

    before = served(speech_provider.url, "embed")
    r = await gw.client.post(
        "/v1/speakers",
        data={"name": "alice"},
        files=audio("librispeech_test-other/1688/1688-142285-0003.flac"),
        headers=gw.user,
    )
    assert r.status_code == 201, r.text
    alice = r.json()["speaker_id"]
    verdicts = {}
    for label, path in (
        ("same", "librispeech_test-other/1688/1688-142285-0004.flac"),
        ("other", "librispeech_test-other/1998/1998-15444-0001.flac"),
    ):
        r = await gw.client.post(f"/v1/speakers/{alice}/verify", files=audio(path), headers=gw.user)
        assert r.status_code == 200, r.text
        verdicts[label] = r.json()
    assert verdicts["same"]["match"] is True and verdicts["other"]["match"] is False
    assert served(speech_provider.url, "embed") == before + 3
    assert not gw.services.engines.is_loaded("resemblyzer")
