"""Tenant isolation of stories, as a matrix: every route that takes a story, track, clip or
render id answers 404 to another key, and changes nothing; a clip or script naming another
key's voice or history item is 404 too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.story_helpers import add_voice, new_story, new_track, render, text_clip
from tests.conftest import tone_wav

Ids = dict[str, str]


async def make_key(new_key: Any) -> dict[str, str]:
    headers: dict[str, str] = await new_key("k")
    headers.pop("_key_id")
    return headers


async def a_story(client: httpx.AsyncClient, user: dict[str, str]) -> Ids:
    voice = await add_voice(client, user)
    sid = (await new_story(client, user))["story_id"]
    track = await new_track(client, user, sid)
    clip = (await text_clip(client, user, sid, track, voice))["clip_id"]
    job = await render(client, user, sid, stems=True)
    assert job["status"] == "ready", job
    r = await client.post(f"/v1/text-to-speech/{voice}", json={"text": "Mine."}, headers=user)
    assert r.status_code == 200
    history = (await client.get("/v1/history", headers=user)).json()["items"][0]["history_id"]
    return {
        "sid": sid,
        "tid": track,
        "cid": clip,
        "jid": str(job["job_id"]),
        "voice": voice,
        "history": history,
    }


def routes(a: Ids, b: Ids) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request arguments) of every id-taking route, aimed by key B at key A's
    ids (alone, and mixed into B's own story)."""
    s, t, c, j = a["sid"], a["tid"], a["cid"], a["jid"]
    text = {"json": {"track_id": b["tid"], "text": "Hi.", "voice_id": b["voice"]}}
    return [
        ("GET", f"/v1/stories/{s}", {}),
        ("PATCH", f"/v1/stories/{s}", {"json": {"name": "x"}}),
        (
            "POST",
            f"/v1/stories/{s}/script",
            {"json": {"script": "A: hi", "voices": {"A": b["voice"]}}},
        ),
        ("PATCH", f"/v1/stories/{s}/timeline", {"json": {"clips": [{"clip_id": c, "start_s": 9}]}}),
        ("POST", f"/v1/stories/{s}/tracks", {"json": {"name": "x"}}),
        ("GET", f"/v1/stories/{s}/tracks/{t}", {}),
        ("PATCH", f"/v1/stories/{s}/tracks/{t}", {"json": {"muted": True}}),
        ("POST", f"/v1/stories/{s}/clips", {"json": {**text["json"], "track_id": t}}),
        ("GET", f"/v1/stories/{s}/clips/{c}", {}),
        ("PATCH", f"/v1/stories/{s}/clips/{c}", {"json": {"start_s": 9}}),
        ("POST", f"/v1/stories/{s}/render", {"json": {}}),
        ("GET", f"/v1/stories/{s}/audio", {}),
        ("GET", f"/v1/stories/{s}/renders/{j}/stems/{t}", {}),
        ("GET", f"/v1/stories/{s}/export", {}),
        ("GET", f"/v1/stories/{b['sid']}/tracks/{t}", {}),
        ("PATCH", f"/v1/stories/{b['sid']}/tracks/{t}", {"json": {"muted": True}}),
        ("GET", f"/v1/stories/{b['sid']}/clips/{c}", {}),
        ("PATCH", f"/v1/stories/{b['sid']}/clips/{c}", {"json": {"start_s": 9}}),
        ("POST", f"/v1/stories/{b['sid']}/clips", {"json": {**text["json"], "track_id": t}}),
        (
            "PATCH",
            f"/v1/stories/{b['sid']}/timeline",
            {"json": {"clips": [{"clip_id": c, "start_s": 9}]}},
        ),
        (
            "PATCH",
            f"/v1/stories/{b['sid']}/timeline",
            {"json": {"clips": [{"clip_id": b["cid"], "track_id": t}]}},
        ),
        ("GET", f"/v1/stories/{b['sid']}/renders/{j}/stems/{t}", {}),
        (
            "POST",
            f"/v1/stories/{b['sid']}/clips",
            {"json": {**text["json"], "voice_id": a["voice"]}},
        ),
        (
            "PATCH",
            f"/v1/stories/{b['sid']}/clips/{b['cid']}",
            {"json": {"voice_id": a["voice"]}},
        ),
        (
            "POST",
            f"/v1/stories/{b['sid']}/clips",
            {"json": {"track_id": b["tid"], "history_id": a["history"]}},
        ),
        (
            "POST",
            f"/v1/stories/{b['sid']}/script",
            {"json": {"script": "A: hi", "voices": {"A": a["voice"]}}},
        ),
        (
            "POST",
            "/v1/stories",
            {"json": {"name": "x", "script": "A: hi", "voices": {"A": a["voice"]}}},
        ),
        ("DELETE", f"/v1/stories/{b['sid']}/clips/{c}", {}),
        ("DELETE", f"/v1/stories/{b['sid']}/tracks/{t}", {}),
        ("DELETE", f"/v1/stories/{s}/clips/{c}", {}),
        ("DELETE", f"/v1/stories/{s}/tracks/{t}", {}),
        ("DELETE", f"/v1/stories/{s}", {}),
    ]


async def test_every_story_route_is_not_found_for_another_key(
    client: httpx.AsyncClient, new_key: Any
) -> None:
    alice, bob = await make_key(new_key), await make_key(new_key)
    a, b = await a_story(client, alice), await a_story(client, bob)
    before_a = (await client.get(f"/v1/stories/{a['sid']}", headers=alice)).json()
    before_b = (await client.get(f"/v1/stories/{b['sid']}", headers=bob)).json()
    refused = []
    for method, path, kwargs in routes(a, b):
        r = await client.request(method, path, headers=bob, **kwargs)
        if r.status_code != 404:
            refused.append((method, path, r.status_code, r.text[:200]))
    assert refused == []
    assert (await client.get(f"/v1/stories/{a['sid']}", headers=alice)).json() == before_a
    assert (await client.get(f"/v1/stories/{b['sid']}", headers=bob)).json() == before_b
    assert len((await client.get("/v1/stories", headers=bob)).json()) == 1


async def test_an_upload_into_another_keys_story_is_not_found(
    client: httpx.AsyncClient, new_key: Any
) -> None:
    alice, bob = await make_key(new_key), await make_key(new_key)
    sid = (await new_story(client, alice))["story_id"]
    track = await new_track(client, alice, sid)
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        data={"track_id": track},
        files={"audio": ("x.wav", tone_wav(1.0), "audio/wav")},
        headers=bob,
    )
    assert r.status_code == 404


@pytest.mark.parametrize("bad", ["not-an-id", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_or_malformed_ids_are_refused(
    client: httpx.AsyncClient, user: dict[str, str], bad: str
) -> None:
    r = await client.get(f"/v1/stories/{bad}", headers=user)
    assert r.status_code in (400, 404)
