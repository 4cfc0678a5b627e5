"""Rendering stories over HTTP: the job end to end (progress, audio as long as the layout,
stems, loudness, history), re-rendering only what changed, quotas, callback URLs, history
clips. Real services on both databases, the fake engine."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import numpy as np
import pytest

from tests.api.story_helpers import (
    add_voice,
    key_and_id,
    new_story,
    new_track,
    render,
    story_usage,
    text_clip,
)
from tests.conftest import ADMIN_KEY, tone_wav
from voxclone.audio import decode_audio
from voxclone.audio.mix import loudness_lufs
from voxclone.services.container import Services

SCRIPT = """NARRATOR: The night was quiet.
ALICE: Is someone there? [pause 1.5s] Hello?
BOB: Just the wind.
"""


async def test_a_render_mixes_the_story_as_laid_out(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    voices = {"NARRATOR": voice_id, "ALICE": voice_id, "BOB": voice_id}
    sid = (await new_story(client, user, script=SCRIPT, voices=voices))["story_id"]
    job = await render(client, user, sid, stems=True, target_lufs=-20)
    assert job["status"] == "ready", job
    assert job["kind"] == "story_render" and job["progress"] == 1.0

    story = (await client.get(f"/v1/stories/{sid}", headers=user)).json()
    clips = story["clips"]
    assert all(c["rendered"] and c["duration_s"] for c in clips)
    for before, clip in itertools.pairwise(clips):  # laid out with the real lengths
        expected = before["start_s"] + before["duration_s"] + clip["params"]["flow_gap_s"]
        assert clip["start_s"] == pytest.approx(expected, abs=1e-3)
    assert clips[2]["params"]["flow_gap_s"] == pytest.approx(0.4 + 1.5)

    r = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    audio = decode_audio(r.content).audio
    assert audio.duration_s == pytest.approx(story["duration_s"], abs=0.01)
    assert job["audio_duration_s"] == pytest.approx(story["duration_s"], abs=0.01)
    loudness = loudness_lufs(audio)
    assert loudness is not None and abs(loudness - -20) < 0.5
    assert story["last_render_job_id"] == job["job_id"]
    assert (await client.get(f"/v1/stories/{sid}/audio", headers=user)).content == r.content

    result = job["result"]
    assert isinstance(result, dict) and result["story_id"] == sid
    assert [s["name"] for s in result["stems"]] == ["NARRATOR", "ALICE", "BOB"]
    total = np.zeros_like(audio.samples)
    for stem in result["stems"]:
        got = await client.get(stem["url"], headers=user)
        assert got.status_code == 200, got.text
        samples = decode_audio(got.content).audio.samples
        assert len(samples) == len(audio.samples)
        total += samples
    assert np.allclose(total, audio.samples, atol=2e-3)  # 16-bit files: stems sum to the mix

    item = await client.get(f"/v1/history/{result['history_id']}", headers=user)
    assert item.status_code == 200, item.text
    assert item.json()["entry"] == "story_render"


async def test_a_rerender_regenerates_only_the_changed_clip(
    client: httpx.AsyncClient, new_key: Any, services: Services
) -> None:
    user, key_id = await key_and_id(new_key)
    voice_id = await add_voice(client, user)
    voices = {"NARRATOR": voice_id, "ALICE": voice_id, "BOB": voice_id}
    story = await new_story(client, user, script=SCRIPT, voices=voices)
    sid = story["story_id"]
    assert (await render(client, user, sid))["status"] == "ready"
    first = await story_usage(services, key_id)
    assert len(first) == 4
    clip = story["clips"][3]["clip_id"]
    r = await client.patch(
        f"/v1/stories/{sid}/clips/{clip}", json={"text": "Only the wind, love."}, headers=user
    )
    assert r.status_code == 200
    before = (await client.get(f"/v1/stories/{sid}", headers=user)).json()["duration_s"]
    again = await render(client, user, sid, format="flac")
    assert again["status"] == "ready", again
    second = await story_usage(services, key_id)
    assert len(second) == 5
    made = [u for u in second if u.id not in {f.id for f in first}]
    assert [u.characters for u in made] == [len("Only the wind, love.")]
    after = (await client.get(f"/v1/stories/{sid}", headers=user)).json()
    assert after["duration_s"] > before - 1  # re-laid out with the new line's real length
    r = await client.get(f"/v1/jobs/{again['job_id']}/audio", headers=user)
    assert r.headers["content-type"] == "audio/flac"
    assert decode_audio(r.content).audio.duration_s == pytest.approx(after["duration_s"], abs=0.01)
    assert (await render(client, user, sid))["status"] == "ready"
    assert len(await story_usage(services, key_id)) == 5  # nothing changed: nothing made


async def test_a_key_over_its_quota_gets_a_failed_render_saying_so(
    client: httpx.AsyncClient, new_key: Any
) -> None:
    user, key_id = await key_and_id(new_key)
    voice_id = await add_voice(client, user)
    script = "A: " + "word " * 20
    sid = (await new_story(client, user, script=script, voices={"A": voice_id}))["story_id"]
    r = await client.patch(
        f"/v1/keys/{key_id}", json={"monthly_char_quota": 10}, headers={"X-API-Key": ADMIN_KEY}
    )
    assert r.status_code == 200, r.text
    job = await render(client, user, sid)
    assert job["status"] == "failed"
    assert "quota" in str(job["error"])


async def test_render_requests_are_checked(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    sid = (await new_story(client, user))["story_id"]
    r = await client.post(f"/v1/stories/{sid}/render", json={}, headers=user)
    assert r.status_code == 422  # nothing to render
    track = await new_track(client, user, sid)
    await text_clip(client, user, sid, track, voice_id)
    for body in ({"format": "aiff"}, {"sample_rate": 1000}, {"target_lufs": 3}):
        r = await client.post(f"/v1/stories/{sid}/render", json=body, headers=user)
        assert r.status_code == 422, r.text
    r = await client.post(
        f"/v1/stories/{sid}/render", json={"callback_url": "http://127.0.0.1:9/hook"}, headers=user
    )
    assert r.status_code == 422 and r.json()["error"] == "url_not_allowed"
    assert (await client.get(f"/v1/stories/{sid}/audio", headers=user)).status_code == 404


async def test_history_and_uploaded_clips_render_with_trims_and_gain(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": "Saved."}, headers=user)
    assert r.status_code == 200
    items = (await client.get("/v1/history", headers=user)).json()["items"]
    history_id = items[0]["history_id"]
    sid = (await new_story(client, user))["story_id"]
    track = await new_track(client, user, sid)
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        json={"track_id": track, "history_id": history_id, "start_s": 0.5},
        headers=user,
    )
    assert r.status_code == 201, r.text
    assert r.json()["duration_s"] == pytest.approx(items[0]["duration_s"], abs=1e-3)
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        data={"track_id": track, "start_s": "1", "trim_in_s": "0.5", "trim_out_s": "1.5"},
        files={"audio": ("x.wav", tone_wav(3.0), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    job = await render(client, user, sid, sample_rate=22050)
    assert job["status"] == "ready", job
    audio = decode_audio((await client.get(f"/v1/stories/{sid}/audio", headers=user)).content)
    assert audio.sample_rate == 22050
    assert audio.audio.duration_s == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize(("fmt", "media"), [("mp3", "audio/mpeg"), ("opus", "audio/ogg")])
async def test_renders_come_in_the_asked_format(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str, fmt: str, media: str
) -> None:
    sid = (await new_story(client, user, script="A: Hello there.", voices={"A": voice_id}))[
        "story_id"
    ]
    job = await render(client, user, sid, format=fmt)
    assert job["status"] == "ready", job
    r = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert r.headers["content-type"].startswith(media)
    assert decode_audio(r.content).audio.duration_s == pytest.approx(
        float(job["audio_duration_s"]), abs=0.1
    )


async def test_the_story_settings_are_the_defaults_of_scripts_and_renders(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    settings = {"gap_s": 1.25, "format": "flac", "stems": True, "target_lufs": -23}
    story = await new_story(
        client,
        user,
        settings=settings,
        script="A: One.\nB: Two.",
        voices={"A": voice_id, "B": voice_id},
    )
    assert story["clips"][1]["params"]["flow_gap_s"] == 1.25
    job = await render(client, user, story["story_id"])
    assert job["status"] == "ready", job
    audio = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert audio.headers["content-type"] == "audio/flac"
    assert isinstance(job["result"], dict) and len(job["result"]["stems"]) == 2
    job = await render(client, user, story["story_id"], format="wav", stems=False)
    assert isinstance(job["result"], dict) and job["result"]["stems"] == []
    r = await client.patch(
        f"/v1/stories/{story['story_id']}", json={"settings": {"format": "aiff"}}, headers=user
    )
    assert r.status_code == 200
    r = await client.post(f"/v1/stories/{story['story_id']}/render", json={}, headers=user)
    assert r.status_code == 422 and "aiff" in r.json()["message"]
