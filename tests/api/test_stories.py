"""Stories over HTTP: CRUD of stories, tracks and clips; the timeline PATCH (all or nothing);
script import; the configured bounds. Real services on both databases, the fake engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.story_helpers import new_story, new_track, text_clip
from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from voxclone.api.app import create_app
from voxclone.services.container import build_services

SCRIPT = """ALICE: Good morning, Bob.
BOB: Morning! [laughs] Coffee?
[pause 2s]
ALICE: Yes please.
"""


async def test_crud_of_stories_tracks_and_clips(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    story = await new_story(client, user, description="a test")
    sid = story["story_id"]
    assert story["tracks"] == [] and story["clips"] == []
    track = await new_track(client, user, sid, "narrator")
    # A track made with its gain and mute set (found by schemathesis: it was a 500).
    music = await client.post(
        f"/v1/stories/{sid}/tracks",
        json={"name": "music", "gain_db": -6.5, "muted": True, "position": 7},
        headers=user,
    )
    assert music.status_code == 201, music.text
    assert (music.json()["gain_db"], music.json()["muted"]) == (-6.5, True)
    r = await client.delete(f"/v1/stories/{sid}/tracks/{music.json()['track_id']}", headers=user)
    assert r.status_code == 204
    clip = await text_clip(
        client, user, sid, track, voice_id, start_s=1.5, gain_db=-3, speed=1.25, seed=7
    )
    assert clip["kind"] == "text" and clip["start_s"] == 1.5 and clip["rendered"] is False
    assert clip["params"] == {"speed": 1.25, "seed": 7}
    upload = await client.post(
        f"/v1/stories/{sid}/clips",
        data={"track_id": track, "start_s": "4", "fade_in_s": "0.1"},
        files={"audio": ("bed.wav", tone_wav(2.0), "audio/wav")},
        headers=user,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["kind"] == "upload"
    assert upload.json()["duration_s"] == pytest.approx(2.0)
    assert upload.json()["end_s"] == pytest.approx(6.0)

    r = await client.get(f"/v1/stories/{sid}", headers=user)
    assert r.status_code == 200
    assert [c["clip_id"] for c in r.json()["clips"]] == [clip["clip_id"], upload.json()["clip_id"]]
    assert r.json()["duration_s"] == pytest.approx(6.0)
    listed = await client.get("/v1/stories", headers=user)
    assert [s["story_id"] for s in listed.json()] == [sid]

    r = await client.patch(f"/v1/stories/{sid}", json={"name": "renamed"}, headers=user)
    assert r.json()["name"] == "renamed" and r.json()["description"] == "a test"
    r = await client.patch(
        f"/v1/stories/{sid}/tracks/{track}", json={"gain_db": -6, "muted": True}, headers=user
    )
    assert r.json()["gain_db"] == -6 and r.json()["muted"] is True
    r = await client.patch(
        f"/v1/stories/{sid}/clips/{clip['clip_id']}",
        json={"text": "Goodbye.", "trim_in_s": 0.1},
        headers=user,
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Goodbye." and r.json()["trim_in_s"] == 0.1
    assert (await client.get(f"/v1/stories/{sid}/tracks/{track}", headers=user)).status_code == 200

    r = await client.delete(f"/v1/stories/{sid}/clips/{clip['clip_id']}", headers=user)
    assert r.status_code == 204
    r = await client.get(f"/v1/stories/{sid}/clips/{clip['clip_id']}", headers=user)
    assert r.status_code == 404
    assert (
        await client.delete(f"/v1/stories/{sid}/tracks/{track}", headers=user)
    ).status_code == 204
    assert (await client.get(f"/v1/stories/{sid}", headers=user)).json()["clips"] == []
    assert (await client.delete(f"/v1/stories/{sid}", headers=user)).status_code == 204
    assert (await client.get(f"/v1/stories/{sid}", headers=user)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"start_s": -1},
        {"trim_in_s": -0.5},
        {"fade_out_s": -1},
        {"gain_db": 99},
        {"speed": 9},
        {"voice_id": None, "history_id": None, "text": None},
    ],
)
async def test_bad_clips_are_refused(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str, body: dict[str, Any]
) -> None:
    sid = (await new_story(client, user))["story_id"]
    track = await new_track(client, user, sid)
    fields = {"track_id": track, "text": "Hi.", "voice_id": voice_id, **body}
    r = await client.post(f"/v1/stories/{sid}/clips", json=fields, headers=user)
    assert r.status_code == 422, r.text
    assert (await client.get(f"/v1/stories/{sid}", headers=user)).json()["clips"] == []


async def test_an_upload_that_is_not_audio_is_refused(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    sid = (await new_story(client, user))["story_id"]
    track = await new_track(client, user, sid)
    for data, form in [(b"not audio at all", {"track_id": track}), (tone_wav(1.0), {})]:
        r = await client.post(
            f"/v1/stories/{sid}/clips",
            data=form,
            files={"audio": ("x.wav", data, "audio/wav")},
            headers=user,
        )
        assert r.status_code == 422, r.text
    assert (await client.get(f"/v1/stories/{sid}", headers=user)).json()["clips"] == []


async def test_the_timeline_patch_applies_every_edit_or_none(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    sid = (await new_story(client, user))["story_id"]
    one, two = await new_track(client, user, sid), await new_track(client, user, sid)
    a = (await text_clip(client, user, sid, one, voice_id, start_s=0))["clip_id"]
    b = (await text_clip(client, user, sid, one, voice_id, start_s=2))["clip_id"]
    before = (await client.get(f"/v1/stories/{sid}", headers=user)).json()

    bad_edits = [
        [{"clip_id": a, "start_s": 5}, {"clip_id": b, "start_s": -1}],
        [{"clip_id": a, "start_s": 5}, {"clip_id": b, "trim_in_s": 0.5, "trim_out_s": 0.2}],
        [{"clip_id": a, "start_s": 5}, {"clip_id": "6c0a6e52-54bd-4c6b-9b8e-6a0b1d2f4e11"}],
        [{"clip_id": a, "track_id": "6c0a6e52-54bd-4c6b-9b8e-6a0b1d2f4e11"}],
    ]
    for edits in bad_edits:
        r = await client.patch(f"/v1/stories/{sid}/timeline", json={"clips": edits}, headers=user)
        assert r.status_code in (404, 422), r.text
        assert (await client.get(f"/v1/stories/{sid}", headers=user)).json() == before

    edits = [
        {"clip_id": b, "start_s": 0.0, "track_id": two},
        {"clip_id": a, "start_s": 3.0, "trim_in_s": 0.1, "trim_out_s": 0.5},
    ]
    r = await client.patch(f"/v1/stories/{sid}/timeline", json={"clips": edits}, headers=user)
    assert r.status_code == 200, r.text
    clips = {c["clip_id"]: c for c in r.json()["clips"]}
    assert [c["clip_id"] for c in r.json()["clips"]] == [b, a]
    assert clips[b]["track_id"] == two and clips[b]["start_s"] == 0.0
    assert clips[a]["trim_out_s"] == 0.5 and clips[a]["end_s"] == pytest.approx(3.4)


async def test_a_script_is_laid_out_one_line_after_another(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    story = await new_story(
        client, user, script=SCRIPT, voices={"Alice": voice_id, "BOB": voice_id}, gap_s=0.5
    )
    assert [t["name"] for t in story["tracks"]] == ["ALICE", "BOB"]
    clips = story["clips"]
    assert [c["text"] for c in clips] == [
        "Good morning, Bob.",
        "Morning!",
        "Coffee?",
        "Yes please.",
    ]
    track_of = {t["track_id"]: t["name"] for t in story["tracks"]}
    assert [track_of[c["track_id"]] for c in clips] == ["ALICE", "BOB", "BOB", "ALICE"]
    gaps = [0.0, 0.5, 0.5 + 1.0, 0.5 + 2.0]  # the gap, plus [laughs] (1 s), then [pause 2s]
    assert [c["params"]["flow_gap_s"] for c in clips] == pytest.approx(gaps)
    assert clips[0]["start_s"] == 0.0
    for before, clip, gap in zip(clips, clips[1:], gaps[1:], strict=False):
        assert clip["start_s"] == pytest.approx(before["end_s"] + gap, abs=1e-3)

    more = await client.post(
        f"/v1/stories/{story['story_id']}/script",
        json={"script": "CAROL: The end.", "voices": {"CAROL": voice_id}},
        headers=user,
    )
    assert more.status_code == 200, more.text
    last = more.json()["clips"][-1]
    assert last["start_s"] == pytest.approx(clips[-1]["end_s"] + 0.4, abs=1e-3)  # default gap


async def test_unknown_speakers_are_listed_and_nothing_is_made(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    body = {"name": "s", "script": SCRIPT, "voices": {"ALICE": voice_id}}
    r = await client.post("/v1/stories", json=body, headers=user)
    assert r.status_code == 422
    assert r.json()["details"]["unknown"] == ["BOB"]
    assert (await client.get("/v1/stories", headers=user)).json() == []
    sid = (await new_story(client, user))["story_id"]
    body = {"script": "ZED: hi\nYAN: ho", "voices": {}}
    r = await client.post(f"/v1/stories/{sid}/script", json=body, headers=user)
    assert r.status_code == 422 and r.json()["details"]["unknown"] == ["ZED", "YAN"]
    r = await client.post(
        f"/v1/stories/{sid}/script",
        json={"script": "ZED: hi", "voices": {"ZED": "6c0a6e52-54bd-4c6b-9b8e-6a0b1d2f4e11"}},
        headers=user,
    )
    assert r.status_code == 404
    assert (await client.get(f"/v1/stories/{sid}", headers=user)).json()["tracks"] == []


@pytest.fixture
async def bounded(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = {"max_clips": 3, "max_tracks": 2, "max_length_s": 20.0, "max_script_chars": 120}
    settings = make_settings(tmp_path / "data", database_url=database_url, stories=limits)
    app = create_app(services=build_services(settings, engines=fake_registry()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_bounds_are_a_clear_422_and_change_nothing(bounded: httpx.AsyncClient) -> None:
    client = bounded
    r = await client.post("/v1/keys", json={"label": "b"}, headers={"X-API-Key": ADMIN_KEY})
    user = {"Authorization": f"Bearer {r.json()['api_key']}"}
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    voice_id = r.json()["voice_id"]
    sid = (await new_story(client, user))["story_id"]
    one, _ = await new_track(client, user, sid), await new_track(client, user, sid)
    r = await client.post(f"/v1/stories/{sid}/tracks", json={}, headers=user)
    assert r.status_code == 422 and r.json()["details"]["max_tracks"] == 2
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        json={"track_id": one, "text": "Hi.", "voice_id": voice_id, "start_s": 25},
        headers=user,
    )
    assert r.status_code == 422 and r.json()["details"]["max_length_s"] == 20.0
    clip = (await text_clip(client, user, sid, one, voice_id))["clip_id"]
    r = await client.patch(
        f"/v1/stories/{sid}/timeline",
        json={"clips": [{"clip_id": clip, "start_s": 30}]},
        headers=user,
    )
    assert r.status_code == 422
    for _ in range(2):
        await text_clip(client, user, sid, one, voice_id)
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        json={"track_id": one, "text": "Hi.", "voice_id": voice_id},
        headers=user,
    )
    assert r.status_code == 422 and r.json()["details"]["max_clips"] == 3
    r = await client.post(
        f"/v1/stories/{sid}/script",
        json={"script": "A: " + "word " * 40, "voices": {"A": voice_id}},
        headers=user,
    )
    assert r.status_code == 422 and r.json()["details"]["max_chars"] == 120
    story = (await client.get(f"/v1/stories/{sid}", headers=user)).json()
    assert len(story["clips"]) == 3 and len(story["tracks"]) == 2
    assert all(c["start_s"] == 0.0 for c in story["clips"])
