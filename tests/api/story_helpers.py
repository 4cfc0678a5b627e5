"""Helpers of the story tests: make stories, tracks, clips and voices over HTTP; render."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import tone_wav, wait_for_job
from voxclone.db.tables import UsageEvent
from voxclone.services.container import Services


async def key_and_id(new_key: Any, label: str = "k") -> tuple[dict[str, str], str]:
    """A new key's headers and its id (``new_key`` is the conftest fixture)."""
    headers: dict[str, str] = await new_key(label)
    return headers, headers.pop("_key_id")


async def new_story(client: httpx.AsyncClient, user: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await client.post("/v1/stories", json={"name": "tale", **body}, headers=user)
    assert r.status_code == 201, r.text
    story: dict[str, Any] = r.json()
    return story


async def new_track(
    client: httpx.AsyncClient, user: dict[str, str], story_id: str, name: str = "t"
) -> str:
    r = await client.post(f"/v1/stories/{story_id}/tracks", json={"name": name}, headers=user)
    assert r.status_code == 201, r.text
    return str(r.json()["track_id"])


async def text_clip(
    client: httpx.AsyncClient,
    user: dict[str, str],
    story_id: str,
    track_id: str,
    voice_id: str,
    **fields: Any,
) -> dict[str, Any]:
    body = {"track_id": track_id, "text": "Hello there.", "voice_id": voice_id, **fields}
    r = await client.post(f"/v1/stories/{story_id}/clips", json=body, headers=user)
    assert r.status_code == 201, r.text
    clip: dict[str, Any] = r.json()
    return clip


async def story_usage(services: Services, key_id: str) -> list[UsageEvent]:
    await services.usage.flush()
    async with services.sessions() as session:
        query = select(UsageEvent).where(UsageEvent.key_id == key_id, UsageEvent.entry == "story")
        return list((await session.execute(query)).scalars())


async def add_voice(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "hello there"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def render(
    client: httpx.AsyncClient, user: dict[str, str], story_id: str, **body: Any
) -> dict[str, Any]:
    r = await client.post(f"/v1/stories/{story_id}/render", json=body, headers=user)
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, str(r.json()["job_id"]), user)
    return job
