from __future__ import annotations

import io
import struct
import zipfile

import httpx
import pytest

from tests.conftest import tone_wav
from voxclone.services.container import Services

MB = 1024 * 1024


async def create(client: httpx.AsyncClient, headers, audio: bytes, filename="ref.wav", **data):
    data.setdefault("name", "v")
    return await client.post(
        "/v1/voices",
        data=data,
        files={"ref_audio": (filename, audio, "audio/wav")},
        headers=headers,
    )


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
async def test_create_voice_from_each_format(client, user, fmt: str) -> None:
    audio = tone_wav(seconds=4.0, rate=16000 if fmt != "MP3" else 22050, fmt=fmt)
    # The file name and declared type lie on purpose: content decides.
    r = await create(client, user, audio, filename="clip.bin", name=f"voice-{fmt}", lang="en")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == f"voice-{fmt}"
    assert body["ref_format"] == fmt.lower()
    assert 3.5 < body["ref_duration_s"] < 4.5
    assert body["status"] == "ready"
    assert body["backend"] == "fake"


async def test_list_get_patch_delete_reference(client, user, voice_id: str) -> None:
    listed = (await client.get("/v1/voices", headers=user)).json()
    assert [v["voice_id"] for v in listed] == [voice_id]
    got = (await client.get(f"/v1/voices/{voice_id}", headers=user)).json()
    assert got["name"] == "alice-voice" and got["ref_text"] == "hello there"
    assert "key_id" not in got and "key_hash" not in got

    r = await client.patch(
        f"/v1/voices/{voice_id}", json={"name": "renamed", "family": "fam"}, headers=user
    )
    assert r.status_code == 200 and r.json()["name"] == "renamed" and r.json()["family"] == "fam"

    ref = await client.get(f"/v1/voices/{voice_id}/reference", headers=user)
    assert ref.status_code == 200
    assert ref.headers["content-type"] == "audio/wav"
    assert ref.content == tone_wav()

    assert (await client.delete(f"/v1/voices/{voice_id}", headers=user)).status_code == 204
    assert (await client.get(f"/v1/voices/{voice_id}", headers=user)).status_code == 404
    assert (await client.get(f"/v1/voices/{voice_id}/reference", headers=user)).status_code == 404


async def test_other_tenants_voice_is_404(client, user, new_key, voice_id: str) -> None:
    bob = await new_key("bob")
    bob.pop("_key_id")
    for method, path in [
        ("GET", f"/v1/voices/{voice_id}"),
        ("GET", f"/v1/voices/{voice_id}/reference"),
        ("PATCH", f"/v1/voices/{voice_id}"),
        ("DELETE", f"/v1/voices/{voice_id}"),
    ]:
        r = await client.request(
            method, path, headers=bob, json={"name": "x"} if method == "PATCH" else None
        )
        assert r.status_code == 404, (method, path)
        assert r.json()["error"] == "not_found"
    assert (await client.get("/v1/voices", headers=bob)).json() == []
    assert (await client.get(f"/v1/voices/{voice_id}", headers=user)).status_code == 200


async def test_malformed_voice_id_is_400(client, user) -> None:
    r = await client.get("/v1/voices/not-a-uuid", headers=user)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_id"


async def test_missing_fields_are_400(client, user) -> None:
    r = await client.post(
        "/v1/voices", data={"name": "x"}, files={"other": ("a", b"1")}, headers=user
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "ref_audio"
    r = await client.post(
        "/v1/voices", files={"ref_audio": ("a.wav", tone_wav(), "audio/wav")}, headers=user
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "name"
    r = await client.post("/v1/voices", json={"name": "x"}, headers=user)
    assert r.status_code == 400 and "multipart" in r.json()["message"]


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("song.txt", "not audio" * 100)
    return buf.getvalue()


def _huge_header_wav() -> bytes:
    wav = bytearray(tone_wav(seconds=4.0))
    at = wav.index(b"data")
    wav[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFF0)
    return bytes(wav)


@pytest.mark.parametrize(
    ("case", "audio", "filename", "code"),
    [
        ("truncated wav", tone_wav(seconds=4.0)[:40_000], "ref.wav", "invalid_audio"),
        ("header claims a huge length", _huge_header_wav(), "ref.wav", "invalid_audio"),
        (
            "text file named .wav",
            b"this is just text, not audio\n" * 50,
            "ref.wav",
            "invalid_audio",
        ),
        ("zip renamed .mp3", _zip_bytes(), "song.mp3", "invalid_audio"),
        ("zero-length upload", b"", "ref.wav", "invalid_audio"),
        ("0.5 s clip", tone_wav(seconds=0.5), "ref.wav", "audio_duration_out_of_range"),
        ("90 s clip", tone_wav(seconds=90.0, rate=8000), "ref.wav", "audio_duration_out_of_range"),
    ],
)
async def test_bad_reference_audio_is_422(client, user, case, audio, filename, code) -> None:
    r = await create(client, user, audio, filename=filename)
    assert r.status_code == 422, (case, r.text)
    body = r.json()
    assert body["error"] == code, case
    assert body["message"]
    assert (await client.get("/v1/voices", headers=user)).json() == []


async def test_duration_error_names_the_limits(client, user) -> None:
    r = await create(client, user, tone_wav(seconds=0.5))
    details = r.json()["details"]
    assert details["min_s"] == 3.0 and details["max_s"] == 60.0
    assert details["duration_s"] == pytest.approx(0.5, abs=0.01)


async def test_25_mb_upload_is_refused_as_422(client, user) -> None:
    r = await create(client, user, b"\0" * (25 * MB))
    assert r.status_code == 413
    assert r.json()["error"] == "audio_too_large"
    assert r.json()["details"]["max_bytes"] == 20 * MB


async def test_oversized_upload_is_refused_while_streaming(
    client, user, services: Services
) -> None:
    """No Content-Length: the server must stop reading at the limit, not buffer 25 MB first."""
    boundary = "vxboundary"
    sent = 0

    async def body():
        nonlocal sent
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="ref_audio"; '
            f'filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        yield head
        for _ in range(25):
            sent += MB
            yield b"\0" * MB
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await client.post(
        "/v1/voices",
        content=body(),
        headers={**user, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "audio_too_large"
    assert sent <= 22 * MB  # stopped soon after the 20 MB limit


async def test_unknown_backend_and_language_are_422(client, user) -> None:
    r = await create(client, user, tone_wav(), backend="no-such-engine")
    assert r.status_code == 422
    assert r.json()["error"] == "unknown_backend"
    assert "fake" in r.json()["details"]["known"]
    r = await create(client, user, tone_wav(), lang="xx")
    assert r.status_code == 422
    assert r.json()["error"] == "unsupported_language"
    assert r.json()["details"]["supported"] == ["en"]


async def test_whole_request_over_the_global_cap_is_413(client, user) -> None:
    r = await client.post(
        "/v1/synthesize",
        content=b"{" + b" " * (33 * MB) + b"}",
        headers={**user, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
