"""The API on S3 storage (moto's server on loopback): the same behaviour, blobs in a bucket,
downloads streamed from the store. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests import peers
from tests.conftest import make_settings, tone_wav, wait_for_job
from voxclone.config import S3Settings, Settings
from voxclone.storage.s3 import S3BlobStore


@pytest.fixture
def bucket(s3_server: peers.S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, s3_server: peers.S3Server, bucket: str) -> Settings:
    s3 = S3Settings(
        endpoint_url=s3_server.endpoint,
        region=peers.S3_REGION,
        access_key_id=peers.S3_KEY,  # type: ignore[arg-type]
        secret_access_key=peers.S3_SECRET,  # type: ignore[arg-type]
    )
    return make_settings(
        tmp_path / "data", database_url=database_url, storage_url=f"s3://{bucket}/vx", s3=s3
    )


def _objects(server: peers.S3Server, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listing.get("Contents", []))


async def test_voices_and_jobs_keep_their_audio_in_the_bucket(
    client: httpx.AsyncClient,
    user: dict[str, str],
    s3_server: peers.S3Server,
    bucket: str,
    services,
) -> None:
    assert isinstance(services.blobs, S3BlobStore)
    clip = tone_wav()
    r = await client.post(
        "/v1/voices",
        data={"name": "bucketed"},
        files={"ref_audio": ("ref.wav", clip, "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    voice_id = r.json()["voice_id"]
    assert _objects(s3_server, bucket) == [f"vx/voices/{voice_id}/ref.wav"]

    r = await client.get(f"/v1/voices/{voice_id}/reference", headers=user)
    assert r.status_code == 200 and r.content == clip
    assert r.headers["content-length"] == str(len(clip))

    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "From the bucket."}, headers=user
    )
    assert r.status_code == 202, r.text
    job = await wait_for_job(client, r.json()["job_id"], user)
    assert job["status"] == "ready", job
    audio = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    stored = s3_server.client().get_object(Bucket=bucket, Key=f"vx/jobs/{job['job_id']}.wav")
    assert stored["Body"].read() == audio.content

    hit = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "From the bucket."}, headers=user
    )
    assert hit.status_code == 200 and hit.headers["x-cache"] == "HIT"
    assert hit.content == audio.content

    # Deleting the voice keeps its generation history: its audio, copied once out of the
    # voice's prefix; the rest of the voice is gone. Purging the history takes that too.
    history = (await client.get("/v1/history", headers=user)).json()["items"]
    assert (await client.delete(f"/v1/voices/{voice_id}", headers=user)).status_code == 204
    left = _objects(s3_server, bucket)
    assert left and all(key.startswith("vx/history/") for key in left), left
    for item in history:
        r = await client.get(f"/v1/history/{item['history_id']}/audio", headers=user)
        assert r.status_code == 200 and r.content == audio.content
        assert (
            await client.delete(f"/v1/history/{item['history_id']}", headers=user)
        ).status_code == 204
    assert _objects(s3_server, bucket) == []


async def test_audio_missing_from_the_bucket_fails_the_job(
    client: httpx.AsyncClient, user: dict[str, str], voice_id: str, s3_server, bucket: str
) -> None:
    r = await client.post(
        "/v1/synthesize", json={"voice_id": voice_id, "text": "Soon gone."}, headers=user
    )
    job = await wait_for_job(client, r.json()["job_id"], user)
    s3_server.client().delete_object(Bucket=bucket, Key=f"vx/jobs/{job['job_id']}.wav")
    r = await client.get(f"/v1/jobs/{job['job_id']}/audio", headers=user)
    assert r.status_code == 500 and r.json()["error"] == "storage_error"
    again = (await client.get(f"/v1/jobs/{job['job_id']}", headers=user)).json()
    assert again["status"] == "failed"
