"""A voice's description, tags and labels; listing voices by tag and name, sorted, in pages."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import tone_wav


async def create(client: httpx.AsyncClient, headers, name="v", **data):
    return await client.post(
        "/v1/voices",
        data={"name": name, "ref_text": "hello", **data},
        files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
        headers=headers,
    )


async def test_profile_on_create_and_patch(client, user):
    r = await create(
        client,
        user,
        description="  A calm narrator.  ",
        tags="Narration, calm ,narration,,",
        labels=json.dumps({"accent": "british", "age": "middle aged"}),
    )
    assert r.status_code == 201, r.text
    voice = r.json()
    assert voice["description"] == "A calm narrator."
    assert voice["tags"] == ["narration", "calm"]
    assert voice["labels"] == {"accent": "british", "age": "middle aged"}
    voice_id = voice["voice_id"]
    got = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert got["tags"] == ["narration", "calm"] and got["labels"]["accent"] == "british"

    r = await create(client, user, name="w", tags=json.dumps(["Audiobook", "deep voice"]))
    assert r.json()["tags"] == ["audiobook", "deep voice"]

    r = await client.patch(
        f"/v1/voices/{voice_id}",
        json={"tags": ["News"], "labels": {"use_case": "news"}, "description": ""},
        headers=user,
    )
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["news"] and r.json()["labels"] == {"use_case": "news"}
    assert r.json()["description"] is None
    # Fields not sent stay as they were.
    r = await client.patch(f"/v1/voices/{voice_id}", json={"name": "renamed"}, headers=user)
    assert r.json()["tags"] == ["news"] and r.json()["name"] == "renamed"
    r = await client.patch(f"/v1/voices/{voice_id}", json={"tags": [], "labels": {}}, headers=user)
    assert r.json()["tags"] == [] and r.json()["labels"] == {}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tags": ",".join(f"t{i}" for i in range(21))}, "tags"),
        ({"tags": "x" * 51}, "tags"),
        ({"tags": '["ok", 3]'}, "tags"),
        ({"tags": "[not json"}, "tags"),
        ({"labels": "not json"}, "labels"),
        ({"labels": '["a list"]'}, "labels"),
        ({"labels": '{"age": 40}'}, "labels"),
        ({"labels": json.dumps({f"k{i}": "v" for i in range(21)})}, "labels"),
        ({"labels": json.dumps({"k": "v" * 201})}, "labels"),
        ({"labels": json.dumps({"": "v"})}, "labels"),
        ({"description": "d" * 2001}, "description"),
        ({"description": "bell \x07"}, "description"),
    ],
)
async def test_bad_profile_is_422_naming_the_field_and_creates_nothing(client, user, fields, field):
    r = await create(client, user, **fields)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_metadata" and r.json()["details"]["field"] == field
    assert field in r.json()["message"] or field.rstrip("s") in r.json()["message"]
    assert (await client.get("/v1/voices", headers=user)).json() == []


async def test_bad_profile_on_patch_changes_nothing(client, user, voice_id):
    for body, field in [
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"labels": {"a": ["list"]}}, "labels"),
        ({"description": "d" * 2001, "name": "changed"}, "description"),
    ]:
        r = await client.patch(f"/v1/voices/{voice_id}", json=body, headers=user)
        assert r.status_code == 422 and r.json()["details"]["field"] == field, r.text
    voice = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert voice["name"] == "alice-voice" and voice["tags"] == [] and voice["description"] is None


@pytest.fixture
async def catalog(client, user) -> dict[str, str]:
    """Five voices, created in this order: name -> id."""
    made = {}
    for name, tags in [
        ("Alice", "narration,calm"),
        ("bob", "narration"),
        ("Carol 100%", "calm"),
        ("alina", "narration,calm,news"),
        ("Dave", ""),
    ]:
        r = await create(client, user, name=name, tags=tags)
        assert r.status_code == 201, r.text
        made[name] = r.json()["voice_id"]
    return made


async def names(client, user, query: str) -> list[str]:
    r = await client.get(f"/v1/voices?{query}", headers=user)
    assert r.status_code == 200, r.text
    body = r.json()
    voices = body if isinstance(body, list) else body["voices"]
    return [v["name"] for v in voices]


async def test_filters_search_and_sort(client, user, catalog):
    # The plain list, as before: newest first.
    assert await names(client, user, "") == ["Dave", "alina", "Carol 100%", "bob", "Alice"]
    assert await names(client, user, "tag=narration") == ["alina", "bob", "Alice"]
    assert await names(client, user, "tag=narration&tag=CALM") == ["alina", "Alice"]
    assert await names(client, user, "tag=nope") == []
    assert await names(client, user, "search=ALI") == ["alina", "Alice"]
    assert await names(client, user, "search=100%25") == ["Carol 100%"]  # % is literal
    assert await names(client, user, "search=_") == []
    assert await names(client, user, "sort=name&order=asc") == [
        "Alice",
        "alina",
        "bob",
        "Carol 100%",
        "Dave",
    ]
    assert await names(client, user, "sort=created_at&order=asc&tag=calm") == [
        "Alice",
        "Carol 100%",
        "alina",
    ]
    r = await client.get("/v1/voices?sort=age", headers=user)
    assert r.status_code == 400 and r.json()["details"]["field"] == "sort"
    r = await client.get("/v1/voices?order=up", headers=user)
    assert r.status_code == 400 and r.json()["details"]["field"] == "order"


@pytest.mark.parametrize(("sort", "order"), [("created_at", "desc"), ("name", "asc")])
async def test_cursor_pages_walk_every_voice_once(client, user, catalog, sort, order):
    everything = await names(client, user, f"sort={sort}&order={order}")
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        r = await client.get(
            "/v1/voices",
            params={"sort": sort, "order": order, "limit": 2, "cursor": cursor},
            headers=user,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [v["name"] for v in page["voices"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
        if pages == 1:  # a voice added before the cursor meanwhile does not shift the pages
            assert (await create(client, user, name="Aaron")).status_code == 201
    assert pages == 3
    assert seen == everything


async def test_cursor_with_filters_and_bad_cursors(client, user, catalog):
    r = await client.get("/v1/voices?tag=narration&limit=2&cursor=", headers=user)
    page = r.json()
    assert [v["name"] for v in page["voices"]] == ["alina", "bob"] and page["has_more"]
    r = await client.get(
        f"/v1/voices?tag=narration&limit=2&cursor={page['next_cursor']}", headers=user
    )
    assert [v["name"] for v in r.json()["voices"]] == ["Alice"] and not r.json()["has_more"]
    for bad in ["garbage", "eyJzIjoxfQ", page["next_cursor"][:-3]]:
        r = await client.get(f"/v1/voices?cursor={bad}", headers=user)
        assert r.status_code == 400 and r.json()["details"]["field"] == "cursor", bad
    r = await client.get(f"/v1/voices?sort=name&cursor={page['next_cursor']}", headers=user)
    assert r.status_code == 400 and "sort=created_at" in r.json()["message"]
    r = await client.get(f"/v1/voices?offset=1&cursor={page['next_cursor']}", headers=user)
    assert r.status_code == 400
