"""Project archives: a story exported imports again as the same story (and its rendered clips
need no synthesis); hostile or malformed archives are refused and leave nothing behind."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from tests.api.story_helpers import add_voice, key_and_id, new_story, new_track, render, story_usage
from tests.conftest import tone_wav
from voxclone.services.container import Services

SCRIPT = "ANN: First line here.\nBEN: Second line. [pause 1s] Third."
LAYOUT = ("kind", "start_s", "trim_in_s", "trim_out_s", "gain_db", "text", "voice_id", "params")


def layout(story: dict[str, Any]) -> list[tuple[Any, ...]]:
    names = {t["track_id"]: t["name"] for t in story["tracks"]}
    return [(names[c["track_id"]], *(c[k] for k in LAYOUT)) for c in story["clips"]]


async def import_archive(
    client: httpx.AsyncClient, user: dict[str, str], data: bytes
) -> httpx.Response:
    files = {"archive": ("story.zip", data, "application/zip")}
    return await client.post("/v1/stories/import", files=files, headers=user)


async def test_an_exported_story_imports_as_the_same_story(
    client: httpx.AsyncClient,
    new_key: Any,
    services: Services,
) -> None:
    user, key_id = await key_and_id(new_key)
    voice_id = await add_voice(client, user)
    story = await new_story(client, user, script=SCRIPT, voices={"ANN": voice_id, "BEN": voice_id})
    sid = story["story_id"]
    track = await new_track(client, user, sid, "music")
    r = await client.post(
        f"/v1/stories/{sid}/clips",
        data={"track_id": track, "start_s": "0.2", "gain_db": "-9", "fade_out_s": "0.5"},
        files={"audio": ("bed.wav", tone_wav(2.5), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    first = await render(client, user, sid)
    assert first["status"] == "ready"
    original = (await client.get(f"/v1/stories/{sid}", headers=user)).json()
    made = len(await story_usage(services, key_id))

    r = await client.get(f"/v1/stories/{sid}/export", headers=user)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert sorted(archive.namelist())[-1] == "story.json"
        assert len(archive.namelist()) == 1 + len(original["clips"])

    imported = await import_archive(client, user, r.content)
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["story_id"] != sid and copy["name"] == original["name"]
    assert layout(copy) == layout(original)
    assert all(c["rendered"] for c in copy["clips"])
    again = await render(client, user, copy["story_id"])
    assert again["status"] == "ready"
    assert len(await story_usage(services, key_id)) == made  # the rendered clips came along
    assert again["audio_duration_s"] == pytest.approx(first["audio_duration_s"], abs=1e-3)


def zipped(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def document(**changes: Any) -> bytes:
    story: dict[str, Any] = {
        "format": "voxclone-story",
        "version": 1,
        "name": "evil",
        "tracks": [{"name": "t"}],
        "clips": [{"track": 0, "kind": "upload", "audio": "clips/0.audio"}],
        **changes,
    }
    return json.dumps(story).encode()


def hostile_archives() -> dict[str, bytes]:
    wav = tone_wav(1.0)
    many = {f"clips/{n}.audio": b"x" for n in range(520)}
    return {
        "not a zip": b"PK\x03\x04 certainly not a zip file",
        "path traversal": zipped({"story.json": document(), "../../etc/passwd": b"x"}),
        "absolute path": zipped({"story.json": document(), "/tmp/evil": b"x"}),
        "traversal in the document": zipped(
            {
                "story.json": document(
                    clips=[{"track": 0, "kind": "upload", "audio": "../clips/0.audio"}]
                ),
                "clips/0.audio": wav,
            }
        ),
        "unexpected member": zipped({"story.json": document(), "clips/0.wav": wav}),
        "too many members": zipped({"story.json": document(), **many}),
        "zip bomb": zipped({"story.json": document(), "clips/0.audio": bytes(60 * 1024 * 1024)}),
        "no story.json": zipped({"clips/0.audio": wav}),
        "story.json not json": zipped({"story.json": b"{nope", "clips/0.audio": wav}),
        "wrong format": zipped({"story.json": document(format="other"), "clips/0.audio": wav}),
        "missing track": zipped(
            {
                "story.json": document(clips=[{"track": 3, "kind": "upload", "audio": None}]),
                "clips/0.audio": wav,
            }
        ),
        "upload without audio": zipped(
            {"story.json": document(clips=[{"track": 0, "kind": "upload"}])}
        ),
        "not audio": zipped({"story.json": document(), "clips/0.audio": b"RIFF nonsense"}),
        "negative time": zipped(
            {
                "story.json": document(
                    clips=[{"track": 0, "kind": "upload", "start_s": -4, "audio": "clips/0.audio"}]
                ),
                "clips/0.audio": wav,
            }
        ),
    }


@pytest.mark.parametrize("case", list(hostile_archives()))
async def test_hostile_archives_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, user: dict[str, str], case: str
) -> None:
    r = await import_archive(client, user, hostile_archives()[case])
    assert r.status_code in (400, 413, 422), (case, r.text)
    assert (await client.get("/v1/stories", headers=user)).json() == []


async def test_an_archive_naming_another_keys_voice_is_not_found(
    client: httpx.AsyncClient,
    user: dict[str, str],
    new_key,  # type: ignore[no-untyped-def]
) -> None:
    other = await new_key("mallory")
    other.pop("_key_id")
    their_voice = await add_voice(client, other)
    clips = [{"track": 0, "kind": "text", "text": "Hi.", "voice_id": their_voice}]
    r = await import_archive(client, user, zipped({"story.json": document(clips=clips)}))
    assert r.status_code == 404
    assert (await client.get("/v1/stories", headers=user)).json() == []
