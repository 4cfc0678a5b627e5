"""Voice export and import: a round trip that speaks the same, and hostile archives refused
with a clear error, creating nothing."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.test_voice_samples import add, sine, speak
from tests.conftest import fake_registry, make_settings
from voxclone.api.app import create_app
from voxclone.services.container import Services, build_services

MB = 1024 * 1024


async def make_voice(client, user) -> str:
    r = await client.post(
        "/v1/voices",
        data={
            "name": "Exported",
            "ref_text": "first words",
            "description": "a test voice",
            "tags": "export,test",
            "labels": json.dumps({"accent": "none"}),
        },
        files={"ref_audio": ("r.wav", sine(220.0), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice_id = str(r.json()["voice_id"])
    r = await add(client, user, voice_id, sine(330.0, fmt="FLAC"), ref_text="second words")
    assert r.status_code == 201, r.text
    return voice_id


async def export(client, user, voice_id) -> bytes:
    r = await client.get(f"/v1/voices/{voice_id}/export", headers=user)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    return r.content


async def import_(client, user, data: bytes, query: str = "") -> httpx.Response:
    return await client.post(
        f"/v1/voices/import{query}",
        files={"archive": ("voice.zip", data, "application/zip")},
        headers=user,
    )


async def test_export_import_round_trip_speaks_the_same(client, user, new_key, voice_id):
    source = await make_voice(client, user)
    data = await export(client, user, source)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = set(z.namelist())
        assert members == {
            "manifest.json",
            "voice.json",
            "prompt.json",
            "samples/01.wav",
            "samples/02.flac",
        }
        manifest = json.loads(z.read("manifest.json"))
        for entry in manifest["members"]:
            assert hashlib.sha256(z.read(entry["path"])).hexdigest() == entry["sha256"]
        prompt = json.loads(z.read("prompt.json"))
        assert prompt["engine"] == "fake" and prompt["engine_version"] == "fake-1:16000"
        voice_doc = json.loads(z.read("voice.json"))
        assert [s["ref_text"] for s in voice_doc["samples"]] == ["first words", "second words"]
    assert await export(client, user, source) == data  # deterministic

    other = await new_key("bob")
    other.pop("_key_id")
    r = await import_(client, other, data)
    assert r.status_code == 201, r.text
    imported = r.json()
    assert imported["voice_id"] != source and imported["status"] == "ready"
    assert imported["name"] == "Exported" and imported["description"] == "a test voice"
    assert imported["tags"] == ["export", "test"] and imported["labels"] == {"accent": "none"}
    samples = await client.get(f"/v1/voices/{imported['voice_id']}/samples", headers=other)
    assert [s["ref_text"] for s in samples.json()["samples"]] == ["first words", "second words"]
    assert [s["format"] for s in samples.json()["samples"]] == ["wav", "flac"]
    text = "The same voice, twice."
    assert await speak(client, other, imported["voice_id"], text) == await speak(
        client, user, source, text
    )
    # The importer's voice is its own: the exporting key does not see it, and vice versa.
    assert (await client.get(f"/v1/voices/{imported['voice_id']}", headers=user)).status_code == 404
    assert (await export(client, other, imported["voice_id"])) != b""


def zip_of(
    members: dict[str, bytes],
    *,
    manifest: bool = True,
    listed: dict[str, bytes] | None = None,
    **infos: int,
) -> bytes:
    """A zip of ``members`` with a manifest of ``listed`` (default: a correct one)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        if manifest:
            entries = [
                {"path": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                for n, d in (members if listed is None else listed).items()
            ]
            doc = {"format": "voxclone-voice", "version": 1, "members": entries}
            z.writestr("manifest.json", json.dumps(doc))
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = infos.get(name, (stat.S_IFREG | 0o644) << 16)
            z.writestr(info, data)
    return buf.getvalue()


def with_members(archive: bytes, **changes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        members = {n: z.read(n) for n in z.namelist() if n != "manifest.json"}
    members.update({k.replace("__", "/"): v for k, v in changes.items()})
    return members


@pytest.fixture
async def good(client, user) -> bytes:
    """A valid archive, and the voice it came from deleted (so nothing is left to see)."""
    voice_id = await make_voice(client, user)
    data = await export(client, user, voice_id)
    assert (await client.delete(f"/v1/voices/{voice_id}", headers=user)).status_code == 204
    return data


def voice_blobs(services: Services) -> list[Path]:
    root = services.settings.data_dir / "blobs" / "voices"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def hostile(good: bytes) -> list[tuple[str, bytes, str, str]]:
    """(case, archive, error code, details.problem)."""
    members = with_members(good)
    bad_prompt = json.loads(members["prompt.json"])
    bad_prompt["engine_version"] = "fake-0:16000"
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("voice.json")
        info.size = 2
        t.addfile(info, io.BytesIO(b"{}"))
    unknown_engine = {**json.loads(members["prompt.json"]), "engine": "nope"}
    changed = members["voice.json"].replace(b"first words", b"FIRST WORDS")
    tampered = zip_of({**members, "voice.json": changed}, listed=members)
    return [
        (
            "traversal",
            zip_of({**members, "../evil.json": b"{}"}),
            "unsafe_archive",
            "path_traversal",
        ),
        (
            "nested traversal",
            zip_of({**members, "samples/../../x": b"{}"}),
            "unsafe_archive",
            "path_traversal",
        ),
        (
            "absolute path",
            zip_of({**members, "/etc/passwd": b"x"}),
            "unsafe_archive",
            "absolute_path",
        ),
        ("backslash", zip_of({**members, "..\\evil": b"x"}), "unsafe_archive", "path_traversal"),
        (
            "symlink",
            zip_of(
                {**members, "samples/03.wav": b"/etc/passwd"},
                **{"samples/03.wav": (stat.S_IFLNK | 0o777) << 16},
            ),
            "unsafe_archive",
            "symlink",
        ),
        (
            "zip bomb (ratio)",
            zip_of({**members, "samples/03.wav": bytes(8 * MB)}),
            "unsafe_archive",
            "compression_ratio",
        ),
        (
            "oversize member",
            zip_of({**members, "samples/03.wav": bytes(21 * MB)}),
            "unsafe_archive",
            "member_too_large",
        ),
        (
            "too many members",
            zip_of({**members, **{f"samples/{i:02d}.wav": b"x" for i in range(10, 40)}}),
            "unsafe_archive",
            "too_many_members",
        ),
        ("hash mismatch", tampered, "invalid_archive", "hash_mismatch"),
        ("no manifest", zip_of(members, manifest=False), "invalid_archive", "missing_member"),
        (
            "unlisted member",
            _unlisted(members),
            "invalid_archive",
            "unlisted_member",
        ),
        (
            "unexpected member",
            zip_of({**members, "run.sh": b"#!"}),
            "invalid_archive",
            "unexpected_member",
        ),
        ("not a zip", b"hello, not a zip" * 10, "invalid_archive", "not_a_zip"),
        ("a tar", tar.getvalue(), "invalid_archive", "not_a_zip"),
        (
            "incompatible engine version",
            zip_of({**members, "prompt.json": json.dumps(bad_prompt).encode()}),
            "incompatible_engine_version",
            "",
        ),
        (
            "an engine this server lacks",
            zip_of({**members, "prompt.json": json.dumps(unknown_engine).encode()}),
            "unknown_backend",
            "",
        ),
        (
            "a profile out of bounds",
            zip_of({**members, "voice.json": _voice_with(members, tags=["x" * 60])}),
            "invalid_metadata",
            "",
        ),
        (
            "a sample that is not audio",
            zip_of({**members, "samples/01.wav": b"not audio" * 100}),
            "invalid_archive",
            "invalid_sample",
        ),
    ]


def _voice_with(members: dict[str, bytes], **fields: object) -> bytes:
    return json.dumps({**json.loads(members["voice.json"]), **fields}).encode()


def _unlisted(members: dict[str, bytes]) -> bytes:
    listed = zip_of(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(listed)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("samples/09.wav", b"extra")
    return buf.getvalue()


async def test_hostile_archives_are_refused_creating_nothing(client, user, services, good):
    assert voice_blobs(services) == []
    cases = hostile(good)
    for case, data, code, problem in cases:
        assert data, case
        r = await import_(client, user, data)
        assert r.status_code == 422, (case, r.status_code, r.text)
        body = r.json()
        assert body["error"] == code, (case, body)
        if problem:
            assert body["details"]["problem"] == problem, (case, body)
        assert body["message"], case
    assert (await client.get("/v1/voices", headers=user)).json() == []
    assert voice_blobs(services) == []
    # The good archive itself imports.
    assert (await import_(client, user, good)).status_code == 201


async def test_incompatible_version_refits_when_asked(client, user, good):
    members = with_members(good)
    prompt = json.loads(members["prompt.json"])
    prompt["engine_version"] = "fake-0:16000"
    prompt["prompt"]["pitch_hz"] = 999.0  # from the old engine: must not be used
    data = zip_of({**members, "prompt.json": json.dumps(prompt).encode()})
    r = await import_(client, user, data)
    assert r.status_code == 422 and r.json()["details"]["archive_version"] == "fake-0:16000"
    assert r.json()["details"]["engine_version"] == "fake-1:16000"
    r = await import_(client, user, data, "?refit=true")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "ready"
    from tests.api.test_voice_samples import pitch_of

    pitch = pitch_of(await speak(client, user, r.json()["voice_id"], "Refitted."))
    assert 200 < pitch < 350  # fitted again to the 220 Hz and 330 Hz samples


@pytest.fixture
async def small(
    tmp_path: Path, database_url: str, admin_headers
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Services]]:
    """A server taking archives of at most 1 MB (so 2 MB unpacked)."""
    settings = make_settings(
        tmp_path / "data", database_url=database_url, limits={"max_voice_archive_bytes": MB}
    )
    services = build_services(settings, engines=fake_registry())
    app = create_app(services=services)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        key = (await c.post("/v1/keys", json={}, headers=admin_headers)).json()["api_key"]
        yield c, {"X-API-Key": key}, services


async def test_archive_size_and_unpacked_total_are_bounded(small):
    c, user, _ = small
    voice_id = await make_voice(c, user)
    members = with_members(await export(c, user, voice_id))
    # Each member is under the sample limit and deflates only ~6x, but they add up.
    rng = np.random.default_rng(0)
    sparse = rng.integers(0, 256, 900_000, dtype=np.uint8)
    sparse[rng.random(900_000) < 0.9] = 0
    noisy = sparse.tobytes()
    many = {f"samples/{i:02d}.wav": noisy for i in range(3, 6)}
    r = await import_(c, user, zip_of({**members, **many}))
    assert r.status_code == 422 and r.json()["details"]["problem"] == "unpacked_too_large", r.text
    r = await c.post(
        "/v1/voices/import",
        files={"archive": ("v.zip", bytes(MB + 1), "application/zip")},
        headers=user,
    )
    assert r.status_code == 422 and r.json()["error"] == "archive_too_large"
    r = await c.post("/v1/voices/import", data={"x": "1"}, files={"y": ("a", b"1")}, headers=user)
    assert r.status_code == 400 and r.json()["details"]["field"] == "archive"
    assert [v["voice_id"] for v in (await c.get("/v1/voices", headers=user)).json()] == [voice_id]


async def test_export_of_a_voice_not_ready_is_409(client, user, services):
    voice_id = await make_voice(client, user)
    from voxclone.db import voices as voice_queries

    async with services.sessions() as session:  # a voice whose fitting failed
        voice = await voice_queries.get_voice_by_id(session, voice_id=voice_id)
        assert voice is not None
        await voice_queries.update_voice(session, voice=voice, status="failed", error="x")
        await session.commit()
    r = await client.get(f"/v1/voices/{voice_id}/export", headers=user)
    assert r.status_code == 409
