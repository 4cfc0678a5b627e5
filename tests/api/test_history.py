"""Generation history over HTTP: every way into synthesis leaves one item, found again by
search, filters and cursors; its audio with HTTP Range; star, delete (one and bulk),
regenerate through the pipeline, several as one zip; every id-taking route is 404 to another
key. Real services on both databases, fake engines."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.api.test_admission import add_voice, http_ways_in, make_key, set_limits, ws_key
from tests.conftest import fake_registry, make_settings, wait_for_job
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.db.tables import HistoryItem
from voxclone.services.container import Services, build_services

TEXT = "Hello there."


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """The shared fixture's settings, with overrides from an indirect parametrization."""
    overrides: dict[str, object] = getattr(request, "param", {})
    return make_settings(tmp_path / "data", database_url=database_url, **overrides)


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    r = await client.get("/v1/history", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def speak(
    client: httpx.AsyncClient, headers: dict[str, str], voice_id: str, text: str
) -> Any:
    r = await client.post(f"/v1/text-to-speech/{voice_id}", json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    return r


async def plant(services: Services, key_id: str, n: int, **fields: Any) -> list[str]:
    """``n`` items added straight through the service (fast), oldest first."""
    ids = []
    for i in range(n):
        values: dict[str, Any] = {"text": f"line {i}", "backend": "fake", **fields}
        item = await services.history.add(
            key_id=key_id,
            audio=b"RIFF" + bytes(40 + i),
            audio_format="wav",
            duration_s=1.0,
            entry="sync",
            **values,
        )
        ids.append(item.id)
    return ids


@pytest.mark.parametrize("way", ["sync", "stream", "synthesize", "openai", "oneshot"])
async def test_each_way_in_leaves_one_item(client, services, way) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    path, kwargs = http_ways_in(voice_id, TEXT)[way]
    r = await client.post(path, headers=headers, **kwargs)
    assert r.status_code in (200, 202), r.text
    job_id = r.json()["job_id"] if r.status_code == 202 else None
    if job_id:
        assert (await wait_for_job(client, job_id, headers))["status"] == "ready"
    [item] = (await listed(client, headers))["items"]
    assert item["entry"] == ("job" if way == "synthesize" else way)
    assert item["text"] == TEXT and item["characters"] == len(TEXT)
    assert item["voice_id"] == (None if way == "oneshot" else voice_id)
    assert item["backend"] == "fake" and item["cache_hit"] is False
    assert item["job_id"] == job_id and item["duration_s"] > 0
    audio = await client.get(item["audio_url"], headers=headers)
    assert audio.status_code == 200 and len(audio.content) == item["audio_bytes"] > 44
    if way in ("sync", "openai"):
        assert audio.content == r.content
    if way != "oneshot":
        assert item["voice_name"] == "v" and item["params"]["format"] in ("wav", "mp3")
        stored = await services.history.get(key_id=key_id, history_id=item["history_id"])
        assert stored.audio_key.startswith(f"voices/{voice_id}/cache/")  # shared, not copied


async def test_a_cache_hit_is_an_item_sharing_the_cached_blob(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    first = await speak(client, headers, voice_id, TEXT)
    again = await speak(client, headers, voice_id, TEXT)
    hit, miss = (await listed(client, headers))["items"]
    assert (hit["cache_hit"], miss["cache_hit"]) == (True, False)
    assert hit["characters"] == len(TEXT)
    a = await services.history.get(key_id=key_id, history_id=hit["history_id"])
    b = await services.history.get(key_id=key_id, history_id=miss["history_id"])
    assert a.audio_key == b.audio_key
    assert (await client.get(hit["audio_url"], headers=headers)).content == again.content
    assert again.content == first.content


@pytest.mark.parametrize("settings", [{"cache_enabled": False}], indirect=True)
async def test_with_caching_off_an_item_keeps_its_own_audio_and_is_read_at_once(
    client, services
) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    spoken = await speak(client, headers, voice_id, TEXT)
    [item] = (await listed(client, headers))["items"]  # written in a batch, read at once
    assert (await client.get(item["audio_url"], headers=headers)).content == spoken.content
    kept = await services.history.get(key_id=key_id, history_id=item["history_id"])
    assert kept.audio_key.startswith(f"history/{key_id}/")


@pytest.mark.parametrize("settings", [{"cache_enabled": False}], indirect=True)
async def test_items_held_for_a_batch_are_written_on_close(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    await speak(client, headers, voice_id, TEXT)
    await services.history.close()  # as at shutdown: nothing read the history before
    async with services.sessions() as session:
        item = await session.scalar(select(HistoryItem).where(HistoryItem.key_id == key_id))
    assert item is not None and await services.blobs.exists(item.audio_key)


@pytest.fixture
def ws_client(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Services]]:
    services = build_services(
        make_settings(tmp_path / "ws", database_url=database_url), engines=fake_registry()
    )
    with TestClient(create_app(services=services)) as client:
        yield client, services


def test_each_websocket_piece_is_an_item(ws_client) -> None:
    client, _ = ws_client
    key, _, voice_id = ws_key(client)
    with client.websocket_connect(f"/v1/text-to-speech/{voice_id}/ws?api_key={key}") as ws:
        assert ws.receive_json()["type"] == "started"
        ws.send_json({"text": "First one. Second one. "})
        ws.send_json({"text": ""})
        while True:
            message = ws.receive()
            if message.get("text") and json.loads(message["text"])["type"] == "final":
                break
    items = client.get("/v1/history", headers={"X-API-Key": key}).json()["items"]
    assert sorted((i["entry"], i["text"]) for i in items) == [
        ("ws", "First one."),
        ("ws", "Second one."),
    ]


async def test_search_filters_and_cursors(client, services) -> None:
    headers, key_id = await make_key(client)
    ids = await plant(services, key_id, 7)
    await plant(services, key_id, 1, text="100% Loud_Text", voice_id="v-2", backend="piper")
    _, other_id = await make_key(client)
    await plant(services, other_id, 2)
    assert [i["text"] for i in (await listed(client, headers, search="loud_"))["items"]] == [
        "100% Loud_Text"
    ]
    assert len((await listed(client, headers, search="%"))["items"]) == 1  # literal, not a wildcard
    assert len((await listed(client, headers, search="LINE"))["items"]) == 7
    assert len((await listed(client, headers, voice_id="v-2"))["items"]) == 1
    assert len((await listed(client, headers, backend="fake"))["items"]) == 7
    r = await client.put(f"/v1/history/{ids[2]}/star", headers=headers)
    assert r.status_code == 200 and r.json()["starred"] is True
    starred = (await listed(client, headers, starred="true"))["items"]
    assert [i["history_id"] for i in starred] == [ids[2]]
    assert len((await listed(client, headers, starred="false"))["items"]) == 7
    r = await client.delete(f"/v1/history/{ids[2]}/star", headers=headers)
    assert r.json()["starred"] is False
    async with services.sessions() as session:  # the first three are a week old
        old = datetime.now(UTC) - timedelta(days=7)
        await session.execute(
            update(HistoryItem).where(HistoryItem.id.in_(ids[:3])).values(created_at=old)
        )
        await session.commit()
    cut = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert len((await listed(client, headers, until=cut))["items"]) == 3
    assert len((await listed(client, headers, since=cut))["items"]) == 5
    assert (
        await client.get("/v1/history", params={"since": "2026-01-01T00:00"}, headers=headers)
    ).status_code == 400
    seen: list[str] = []
    page = await listed(client, headers, limit=3)
    while True:
        seen += [i["history_id"] for i in page["items"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        page = await listed(client, headers, limit=3, cursor=page["next_cursor"])
    assert len(seen) == len(set(seen)) == 8
    assert set(seen[-3:]) == set(ids[:3])  # newest first: the old ones last
    bad = await client.get("/v1/history", params={"cursor": "nonsense"}, headers=headers)
    assert bad.status_code == 400
    assert (
        await client.get("/v1/history", params={"limit": 101}, headers=headers)
    ).status_code == 422


async def test_audio_answers_ranges(client, services) -> None:
    headers, key_id = await make_key(client)
    [item_id] = await plant(services, key_id, 1)
    url = f"/v1/history/{item_id}/audio"
    whole = await client.get(url, headers=headers)
    size = len(whole.content)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    part = await client.get(url, headers={**headers, "Range": "bytes=2-9"})
    assert part.status_code == 206
    assert part.content == whole.content[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{size}"
    tail = await client.get(url, headers={**headers, "Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == whole.content[-4:]
    rest = await client.get(url, headers={**headers, "Range": f"bytes=10-{size + 50}"})
    assert rest.content == whole.content[10:]
    assert rest.headers["content-range"] == f"bytes 10-{size - 1}/{size}"
    beyond = await client.get(url, headers={**headers, "Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"


async def test_delete_one_and_many(client, services) -> None:
    headers, key_id = await make_key(client)
    ids = await plant(services, key_id, 5)
    _, other_id = await make_key(client)
    [foreign] = await plant(services, other_id, 1)
    blob = (await services.history.get(key_id=key_id, history_id=ids[0])).audio_key
    assert (await client.delete(f"/v1/history/{ids[0]}", headers=headers)).status_code == 204
    assert not await services.blobs.exists(blob)  # its own blob: nothing else used it
    assert (await client.get(f"/v1/history/{ids[0]}", headers=headers)).status_code == 404
    r = await client.post("/v1/history/delete", json={"ids": [ids[1], foreign]}, headers=headers)
    assert r.status_code == 404  # and nothing went
    r = await client.post("/v1/history/delete", json={"ids": ids[1:3]}, headers=headers)
    assert r.status_code == 200 and sorted(r.json()["deleted"]) == sorted(ids[1:3])
    r = await client.delete("/v1/history", params={"ids": ",".join(ids[3:])}, headers=headers)
    assert r.status_code == 200 and sorted(r.json()["deleted"]) == sorted(ids[3:])
    assert (await listed(client, headers))["items"] == []
    assert (await services.history.get(key_id=other_id, history_id=foreign)).id == foreign


async def test_deleting_a_cache_hit_keeps_the_cached_audio(client, services) -> None:
    headers, _ = await make_key(client)
    voice_id = await add_voice(client, headers)
    await speak(client, headers, voice_id, TEXT)
    first = await speak(client, headers, voice_id, TEXT)
    for item in (await listed(client, headers))["items"]:
        assert (
            await client.delete(f"/v1/history/{item['history_id']}", headers=headers)
        ).status_code == 204
    again = await speak(client, headers, voice_id, TEXT)  # still a hit, with its audio
    assert again.headers.get("x-cache") in (None, "HIT") and again.content == first.content
    [item] = (await listed(client, headers))["items"]
    assert item["cache_hit"] is True


async def test_regenerate_uses_a_new_seed_through_the_pipeline(client, services) -> None:
    headers, key_id = await make_key(client)
    voice_id = await add_voice(client, headers)
    await speak(client, headers, voice_id, TEXT)
    [item] = (await listed(client, headers))["items"]
    r = await client.post(f"/v1/history/{item['history_id']}/regenerate", headers=headers)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["source_id"] == item["history_id"] and new["entry"] == "regenerate"
    assert new["text"] == TEXT and new["voice_id"] == voice_id and new["cache_hit"] is False
    assert new["params"]["seed"] is not None and new["params"]["seed"] != item["params"]["seed"]
    assert {k: v for k, v in new["params"].items() if k != "seed"} == {
        k: v for k, v in item["params"].items() if k != "seed"
    }
    assert len((await listed(client, headers))["items"]) == 2
    await set_limits(client, key_id, monthly_char_quota=2 * len(TEXT))  # used up
    r = await client.post(f"/v1/history/{item['history_id']}/regenerate", headers=headers)
    assert r.status_code == 402 and r.json()["error"] == "quota_exceeded"
    assert len((await listed(client, headers))["items"]) == 2


async def test_download_several_as_one_zip(client, services) -> None:
    headers, key_id = await make_key(client)
    ids = await plant(services, key_id, 3)
    r = await client.post("/v1/history/download", json={"ids": ids[:2]}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(
            [f"{i}.wav" for i in ids[:2]] + ["manifest.json"]
        )
        for i in ids[:2]:
            data, _ = await services.history.audio(key_id=key_id, history_id=i)
            assert archive.read(f"{i}.wav") == data
        manifest = json.loads(archive.read("manifest.json"))
    assert [m["history_id"] for m in manifest["items"]] == ids[:2]
    assert manifest["items"][0]["text"] == "line 0"


ROUTES = [
    ("GET", "/v1/history/{id}", None),
    ("GET", "/v1/history/{id}/audio", None),
    ("DELETE", "/v1/history/{id}", None),
    ("POST", "/v1/history/{id}/regenerate", None),
    ("PUT", "/v1/history/{id}/star", None),
    ("DELETE", "/v1/history/{id}/star", None),
    ("POST", "/v1/history/delete", {"ids": ["{id}"]}),
    ("POST", "/v1/history/download", {"ids": ["{id}"]}),
    ("DELETE", "/v1/history?ids={id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_another_keys_item_is_404_on_every_route(
    client, services, method, path, body
) -> None:
    owner, owner_id = await make_key(client)
    voice_id = await add_voice(client, owner)
    await speak(client, owner, voice_id, TEXT)
    [item] = (await listed(client, owner))["items"]
    stranger, _ = await make_key(client)
    url = path.replace("{id}", item["history_id"])
    content = json.loads(json.dumps(body).replace("{id}", item["history_id"])) if body else None
    r = await client.request(method, url, json=content, headers=stranger)
    assert r.status_code == 404, (method, path, r.text)
    assert r.json()["error"] == "not_found"
    after = await services.history.get(key_id=owner_id, history_id=item["history_id"])
    assert after.starred is False
    assert len((await listed(client, owner))["items"]) == 1
