"""History retention and voice deletion: the sweeper deletes by age and by bytes (a key's
own limits over the server's), never starred items, items a story clip uses, or a blob the
cache or another item still uses; deleting a voice keeps its history, audio and all, unless
asked to purge. And GET /v1/jobs. Real services on both databases, fake engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from tests.api.test_admission import add_voice, make_key
from tests.api.test_history import TEXT, listed, plant, speak
from tests.conftest import wait_for_job
from voxclone.config import HistorySettings
from voxclone.core.types import new_id
from voxclone.db.tables import ApiKey, HistoryItem, Story, StoryClip, StoryTrack
from voxclone.services.container import Services
from voxclone.services.history_sweeper import HistorySweeper


def sweeper(services: Services, **settings: Any) -> HistorySweeper:
    return HistorySweeper(
        sessions=services.sessions, history=services.history, settings=HistorySettings(**settings)
    )


async def age(services: Services, ids: list[str], days: float) -> None:
    async with services.sessions() as session:
        at = datetime.now(UTC) - timedelta(days=days)
        await session.execute(
            update(HistoryItem).where(HistoryItem.id.in_(ids)).values(created_at=at)
        )
        await session.commit()


async def use_in_story(
    services: Services, key_id: str, *, history_id: str | None = None, audio_key: str | None = None
) -> None:
    async with services.sessions() as session:
        story, track = Story(id=new_id(), key_id=key_id, name="s"), StoryTrack(id=new_id())
        track.story_id = story.id
        session.add_all([story, track])
        await session.flush()
        kind = "history" if history_id else "upload"
        session.add(
            StoryClip(
                id=new_id(),
                track_id=track.id,
                kind=kind,
                history_id=history_id,
                audio_key=audio_key,
            )
        )
        await session.commit()


async def remaining(services: Services, key_id: str) -> set[str]:
    from voxclone.db.history import HistoryFilter

    page = await services.history.page(key_id=key_id, filter=HistoryFilter(), limit=100)
    return {item.id for item in page.items}


async def test_age_retention_spares_starred_and_story_items(client, services) -> None:
    _headers, key_id = await make_key(client)
    ids = await plant(services, key_id, 5)
    await age(services, ids[:4], days=40)
    await services.history.star(key_id=key_id, history_id=ids[0], starred=True)
    await use_in_story(services, key_id, history_id=ids[1])
    blob = (await services.history.get(key_id=key_id, history_id=ids[2])).audio_key
    assert await services.blobs.exists(blob)
    swept = await sweeper(services, max_age_days=30).sweep()
    assert swept.by_age == 2 and swept.by_bytes == 0
    assert await remaining(services, key_id) == {ids[0], ids[1], ids[4]}
    assert not await services.blobs.exists(blob)
    assert (await sweeper(services).sweep()).by_age == 0  # no limit: nothing goes


async def test_a_keys_own_limits_replace_the_servers(client, services) -> None:
    _, key_id = await make_key(client)
    _, lax_id = await make_key(client)
    ids = await plant(services, key_id, 3)
    lax = await plant(services, lax_id, 3)
    await age(services, ids + lax, days=10)
    async with services.sessions() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(history_max_age_days=5)
        )
        await session.execute(
            update(ApiKey).where(ApiKey.id == lax_id).values(history_max_age_days=20)
        )
        await session.commit()
    assert (await sweeper(services, max_age_days=7).sweep()).by_age == 3
    assert await remaining(services, key_id) == set()
    assert await remaining(services, lax_id) == set(lax)


async def test_bytes_retention_deletes_oldest_first(client, services) -> None:
    _, key_id = await make_key(client)
    ids = await plant(services, key_id, 4)  # 44, 45, 46, 47 bytes
    await age(services, ids[:1], days=3)
    await age(services, ids[1:2], days=2)
    swept = await sweeper(services, max_bytes=47 + 46 + 1).sweep()
    assert swept.by_bytes == 2
    assert await remaining(services, key_id) == set(ids[2:])


async def test_the_sweeper_keeps_blobs_still_in_use(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    await speak(client, headers, voice_id, TEXT)
    await speak(client, headers, voice_id, TEXT)  # a cache hit: the same blob
    old, new = [i["history_id"] for i in reversed((await listed(client, headers))["items"])]
    cached = (await services.history.get(key_id=key_id, history_id=old)).audio_key
    [own] = await plant(services, key_id, 1)
    own_blob = (await services.history.get(key_id=key_id, history_id=own)).audio_key
    await use_in_story(services, key_id, audio_key=own_blob)  # a clip holds the audio itself
    await age(services, [old, own], days=40)
    assert (await sweeper(services, max_age_days=30).sweep()).by_age == 2
    assert await remaining(services, key_id) == {new}
    assert await services.blobs.exists(cached)  # the cache and the newer item use it
    assert await services.blobs.exists(own_blob)  # the story clip uses it
    await services.history.delete(key_id=key_id, ids=[new])
    assert await services.blobs.exists(cached)  # the cache still does


async def test_deleting_an_item_a_story_uses_is_409(client, services) -> None:
    headers, key_id = await make_key(client)
    ids = await plant(services, key_id, 2)
    await use_in_story(services, key_id, history_id=ids[0])
    assert (await client.delete(f"/v1/history/{ids[0]}", headers=headers)).status_code == 409
    r = await client.post("/v1/history/delete", json={"ids": ids}, headers=headers)
    assert r.json() == {"deleted": [ids[1]], "in_use": [ids[0]]}


async def test_deleting_a_voice_keeps_its_history_with_audio(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    spoken = await speak(client, headers, voice_id, TEXT)
    await speak(client, headers, voice_id, TEXT)
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "A job."}, headers=headers
    )
    assert (await wait_for_job(client, r.json()["job_id"], headers))["status"] == "ready"
    before = (await listed(client, headers))["items"]
    assert (await client.delete(f"/v1/voices/{voice_id}", headers=headers)).status_code == 204
    assert (await client.get(f"/v1/voices/{voice_id}", headers=headers)).status_code == 404
    after = (await listed(client, headers))["items"]
    assert [i["history_id"] for i in after] == [i["history_id"] for i in before]
    assert all(i["voice_deleted"] and i["voice_id"] == voice_id for i in after)
    for item in after:
        audio = await client.get(item["audio_url"], headers=headers)
        assert audio.status_code == 200 and len(audio.content) == item["audio_bytes"]
        if item["text"] == TEXT:
            assert audio.content == spoken.content
        stored = await services.history.get(key_id=key_id, history_id=item["history_id"])
        assert stored.audio_key.startswith(f"history/{key_id}/")
    assert not await services.blobs.exists(f"voices/{voice_id}/ref.wav")
    r = await client.post(f"/v1/history/{after[0]['history_id']}/regenerate", headers=headers)
    assert r.status_code == 409


async def test_purging_a_voice_removes_its_history(client, services) -> None:
    headers, _key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    keep = await add_voice(client, headers)
    await speak(client, headers, voice_id, TEXT)
    await speak(client, headers, keep, TEXT)
    r = await client.delete(
        f"/v1/voices/{voice_id}", params={"purge_history": "true"}, headers=headers
    )
    assert r.status_code == 204
    [left] = (await listed(client, headers))["items"]
    assert left["voice_id"] == keep and left["voice_deleted"] is False


async def jobs_page(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    r = await client.get("/v1/jobs", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_jobs_are_listed_with_filters_and_cursors(client) -> None:
    headers, _ = await make_key(client)
    voice_id = await add_voice(client, headers)
    job_ids = []
    for n in range(3):
        r = await client.post(
            "/v1/synthesize", json={"voice_id": voice_id, "text": f"Job {n}."}, headers=headers
        )
        job_ids.append(r.json()["job_id"])
        await wait_for_job(client, job_ids[-1], headers)
    stranger, _ = await make_key(client)
    assert (await jobs_page(client, stranger))["jobs"] == []
    seen = []
    page = await jobs_page(client, headers, limit=2)
    assert page["has_more"] is True
    seen += [j["job_id"] for j in page["jobs"]]
    page = await jobs_page(client, headers, limit=2, cursor=page["next_cursor"])
    seen += [j["job_id"] for j in page["jobs"]]
    assert page["has_more"] is False and sorted(seen) == sorted(job_ids)
    ready = await jobs_page(client, headers, kind="synthesize", status="ready")
    assert len(ready["jobs"]) == 3 and all(j["audio_url"] for j in ready["jobs"])
    assert (await jobs_page(client, headers, status="failed"))["jobs"] == []
    assert (await jobs_page(client, headers, kind="biometrics"))["jobs"] == []
    assert (
        await client.get("/v1/jobs", params={"cursor": "x"}, headers=headers)
    ).status_code == 400
