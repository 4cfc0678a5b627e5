"""POST /api/v1/voice/synthesize keeps a clip's voice prompt: the same clip again costs no fit,
and where the fit is slow the first call speaks at once with the nearest stock voice while the
fit goes on in the background (``X-Voice-Prompt``). Fake engines; both databases."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import make_settings
from voxclone.config import Settings
from voxclone.engines.fake import DEFAULT_PITCH_HZ, FakeEngine, QuickFakeEngine
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.container import Services

PATH = "/api/v1/voice/synthesize"
FIT_DELAY_S = 1.0
CLIP_HZ = 150.0


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def backend() -> str:
    return "slow"


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, overrides: dict[str, Any], backend: str
) -> Settings:
    return make_settings(
        tmp_path / "data", database_url=database_url, limits=overrides, default_backend=backend
    )


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec(
                "slow",
                "voxclone.engines.fake:QuickFakeEngine",
                options={"fitting": True, "fit_delay_s": FIT_DELAY_S},
            ),
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
        ]
    )


async def speak(client, user, clip: bytes, **fields: str):  # type: ignore[no-untyped-def]
    return await client.post(
        PATH,
        data={"text": "Hello world.", "language": "en", **fields},
        files={"reference_audio": ("ref.wav", clip, "audio/wav")},
        headers={"X-API-Key": user["Authorization"].removeprefix("Bearer ")},
    )


def sine(hz: float = CLIP_HZ, seconds: float = 4.0) -> bytes:
    """A pure tone: the fake engine's "speaker" is its pitch, read from zero crossings."""
    t = np.arange(int(16000 * seconds)) / 16000
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), 16000, format="WAV")
    return buf.getvalue()


def pitch_of(wav: bytes) -> float:
    samples, rate = sf.read(io.BytesIO(wav))
    crossings = np.count_nonzero(np.signbit(samples[1:]) != np.signbit(samples[:-1]))
    return float(crossings / (2 * len(samples) / rate))


def engine(services: Services, name: str) -> Any:
    return services.engines.get_tts(name)


async def test_a_slow_fit_speaks_the_nearest_voice_at_once_then_the_fitted_one(
    client, user, services
) -> None:
    clip = sine()
    first = await speak(client, user, clip)
    assert first.status_code == 200, first.text
    assert first.headers["X-Voice-Prompt"] == "nearest"  # answered before the fit landed
    assert pitch_of(first.content) == pytest.approx(DEFAULT_PITCH_HZ, rel=0.05)

    deadline = time.monotonic() + 20
    while True:  # the fit lands in the background; until then, the quick voice again
        again = await speak(client, user, clip)
        assert again.status_code == 200, again.text
        if again.headers["X-Voice-Prompt"] == "cached":
            break
        assert again.headers["X-Voice-Prompt"] == "nearest"
        assert time.monotonic() < deadline, "the background fit never landed"
        await asyncio.sleep(0.1)
    assert pitch_of(again.content) == pytest.approx(CLIP_HZ, rel=0.05)  # the speaker's
    slow: QuickFakeEngine = engine(services, "slow")
    assert slow.fits == 1  # one fit, however many calls came while it ran


@pytest.mark.parametrize("overrides", [{"oneshot_fit_wait_s": 30.0}])
async def test_a_request_that_may_wait_gets_the_fitted_voice(client, user, services) -> None:
    r = await speak(client, user, sine())
    assert r.status_code == 200 and r.headers["X-Voice-Prompt"] == "fitted"
    assert pitch_of(r.content) == pytest.approx(CLIP_HZ, rel=0.05)
    assert engine(services, "slow").quick_prompts == 0


@pytest.mark.parametrize("backend", ["fake"])
async def test_a_fast_engine_fits_once_per_clip(client, user, services) -> None:
    clip = sine()
    fake: FakeEngine = engine(services, "fake")
    calls = []
    original = fake.create_voice_prompt
    fake.create_voice_prompt = lambda *a, **k: calls.append(1) or original(*a, **k)  # type: ignore[method-assign]
    answers = [(await speak(client, user, clip)) for _ in range(3)]
    assert [a.headers["X-Voice-Prompt"] for a in answers] == ["fitted", "cached", "cached"]
    assert len(calls) == 1
    other = await speak(client, user, sine(200.0))
    assert other.headers["X-Voice-Prompt"] == "fitted" and len(calls) == 2


@pytest.mark.parametrize("backend", ["fake"])
async def test_another_key_does_not_share_a_clips_prompt(client, user, new_key) -> None:
    clip = sine()
    for _ in range(2):
        await speak(client, user, clip)
    other = await new_key("bob")
    r = await speak(client, other, clip)
    assert r.headers["X-Voice-Prompt"] == "fitted"  # no hint that alice used this clip


@pytest.mark.parametrize("backend", ["fake"])
@pytest.mark.parametrize("overrides", [{"oneshot_prompt_cache_entries": 0}])
async def test_with_no_cache_every_call_fits(client, user) -> None:
    clip = sine()
    answers = [(await speak(client, user, clip)) for _ in range(2)]
    assert [a.headers["X-Voice-Prompt"] for a in answers] == ["fitted", "fitted"]


async def test_a_silent_clip_is_refused_and_nothing_is_kept(client, user, services) -> None:
    silent = io.BytesIO()
    sf.write(silent, np.zeros(16000 * 4, dtype=np.float32), 16000, format="WAV")
    for _ in range(2):
        r = await speak(client, user, silent.getvalue())
        assert r.status_code == 400, r.text
        assert "silent" in r.json()["message"]
