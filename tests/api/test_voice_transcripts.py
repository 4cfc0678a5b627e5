"""Voices created without ref_text get the default STT engine's transcript (plumbing, with the
fake STT engine; tests/e2e/test_transcription.py does it with the real Whisper model)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import make_settings, tone_wav
from voxclone.config import Settings
from voxclone.engines.registry import EngineRegistry, EngineSpec


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("whisper", "voxclone.engines.fake_stt:FakeTranscriber", kind="stt"),
            EngineSpec(
                "broken-stt", "voxclone.engines.fake_stt:FakeTranscriber", kind="stt",
                options={"no_such_option": True},
            ),
        ]
    )  # fmt: skip


async def create(client: httpx.AsyncClient, user: dict[str, str], **data: str) -> httpx.Response:
    return await client.post(
        "/v1/voices",
        data={"name": "v", **data},
        files={"ref_audio": ("r.wav", tone_wav(seconds=4.0), "audio/wav")},
        headers=user,
    )


async def test_missing_ref_text_is_transcribed(client, user) -> None:
    r = await create(client, user)
    assert r.status_code == 201, r.text
    assert r.json()["ref_text"] == "4.0 seconds of audio"
    assert r.json()["ref_text_auto"] is True
    # a user's correction is no longer automatic
    voice_id = r.json()["voice_id"]
    patched = await client.patch(f"/v1/voices/{voice_id}", json={"ref_text": "hi"}, headers=user)
    assert patched.json()["ref_text"] == "hi" and patched.json()["ref_text_auto"] is False


async def test_given_ref_text_is_kept(client, user) -> None:
    r = await create(client, user, ref_text="exactly this")
    assert r.json()["ref_text"] == "exactly this" and r.json()["ref_text_auto"] is False


class TestSwitchedOff:
    @pytest.fixture
    def settings(self, tmp_path, database_url: str) -> Settings:
        return make_settings(
            tmp_path / "data", database_url=database_url, auto_transcribe_references=False
        )

    async def test_no_transcript_when_switched_off(self, client, user) -> None:
        r = await create(client, user)
        assert r.status_code == 201, r.text
        assert r.json()["ref_text"] is None and r.json()["ref_text_auto"] is False


class TestBrokenEngine:
    @pytest.fixture
    def settings(self, tmp_path, database_url: str) -> Settings:
        return make_settings(
            tmp_path / "data", database_url=database_url, default_stt_backend="broken-stt"
        )

    async def test_voice_is_created_without_transcript(self, client, user, caplog) -> None:
        r = await create(client, user)
        assert r.status_code == 201, r.text
        assert r.json()["ref_text"] is None and r.json()["ref_text_auto"] is False
        assert "could not transcribe a voice reference" in caplog.text
