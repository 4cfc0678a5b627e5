"""Error responses at the edges: huge numbers, missing bodies, 405s, unknown backends."""

from __future__ import annotations

import httpx
import pytest

from voxclone.core.errors import UnknownBackend
from voxclone.engines.registry import EngineRegistry, EngineSpec

HUGE = "1180591620717411303424"  # 2**70: more than any INTEGER column holds


@pytest.fixture
def registry() -> EngineRegistry:
    """The fake engines plus engines of other kinds, never loaded by these tests."""
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
            EngineSpec("whisper", "voxclone_not_loaded:Stt", kind="stt"),
            EngineSpec("dfn", "voxclone_not_loaded:Denoiser", kind="denoise"),
        ]
    )


def assert_shape(body: dict[str, object]) -> None:
    assert set(body) == {"error", "message", "details"}, body


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/speakers?offset={HUGE}",
        f"/v1/voices?offset={HUGE}",
        f"/v1/stories?offset={HUGE}",
        f"/v1/speakers?limit={HUGE}",
        f"/v1/jobs?limit={HUGE}",
        f"/v1/history?limit={HUGE}",
    ],
)
async def test_a_huge_page_number_is_refused_by_the_schema(
    client: httpx.AsyncClient, user: dict[str, str], path: str
) -> None:
    r = await client.get(path, headers=user)
    assert r.status_code == 422, r.text
    assert_shape(r.json())
    assert r.json()["error"] == "validation_error"


async def test_the_largest_offset_still_answers(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    r = await client.get(f"/v1/speakers?offset={2**31 - 1}", headers=user)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("content", [b"", None])
async def test_a_missing_body_is_named(
    client: httpx.AsyncClient, user: dict[str, str], content: bytes | None
) -> None:
    headers = {**user, "Content-Type": "application/json"} if content is not None else user
    r = await client.post("/v1/synthesize", content=content, headers=headers)
    assert r.status_code == 400, r.text
    body = r.json()
    assert_shape(body)
    assert body["error"] == "missing_field"
    assert body["message"] == "the request body is required"
    assert body["details"] == {"fields": ["body"]}


async def test_405_allows_the_one_method_of_a_path(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    r = await client.delete("/v1/usage", headers=user)
    assert r.status_code == 405, r.text
    assert_shape(r.json())
    assert r.json()["error"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET"


async def test_405_allows_every_method_of_a_path(
    client: httpx.AsyncClient, user: dict[str, str]
) -> None:
    r = await client.put("/v1/history", headers=user)
    assert r.status_code == 405, r.text
    assert r.headers["Allow"] == "DELETE, GET"


async def test_an_unknown_tts_backend_lists_only_tts_engines(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str
) -> None:
    r = await client.post(
        "/v1/synthesize",
        json={"voice_id": voice_id, "text": "hello", "backend": "nope"},
        headers=user,
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert_shape(body)
    assert body["error"] == "unknown_backend"
    assert body["details"]["known"] == ["fake", "piper"]
    assert "whisper" not in body["message"]


@pytest.mark.parametrize(
    ("get", "known"),
    [
        (EngineRegistry.get_tts, ["fake", "piper"]),
        (EngineRegistry.get_stt, ["whisper"]),
        (EngineRegistry.get_denoiser, ["dfn"]),
        (EngineRegistry.get_embedder, []),
    ],
)
def test_an_unknown_name_lists_the_engines_of_the_kind_asked_for(
    registry: EngineRegistry, get: object, known: list[str]
) -> None:
    assert callable(get)
    with pytest.raises(UnknownBackend) as info:
        get(registry, "nope")
    assert info.value.details["known"] == known
