"""S3BlobStore against a real S3-protocol server (moto's standalone server on loopback)."""

from __future__ import annotations

import pytest
from tests import peers

from voxclone.core.errors import StorageError
from voxclone.storage.base import BlobStore
from voxclone.storage.s3 import S3BlobStore


def _store(server: peers.S3Server, bucket: str, prefix: str = "vox") -> S3BlobStore:
    return S3BlobStore(
        bucket,
        prefix,
        endpoint_url=server.endpoint,
        region=peers.S3_REGION,
        access_key_id=peers.S3_KEY,
        secret_access_key=peers.S3_SECRET,
    )


@pytest.fixture
def bucket(s3_server: peers.S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture
def store(s3_server: peers.S3Server, bucket: str) -> S3BlobStore:
    return _store(s3_server, bucket)


def test_it_is_a_blob_store(store: S3BlobStore) -> None:
    assert isinstance(store, BlobStore)


async def test_put_then_get_size_and_exists(
    store: S3BlobStore, s3_server: peers.S3Server, bucket: str
) -> None:
    await store.put("voices/a/ref.wav", b"RIFF-first")
    await store.put("voices/a/ref.wav", b"RIFF-second")  # replaces
    assert await store.get("voices/a/ref.wav") == b"RIFF-second"
    assert await store.size("voices/a/ref.wav") == len(b"RIFF-second")
    assert await store.exists("voices/a/ref.wav")
    assert not await store.exists("voices/a/other.wav")
    names = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert names == ["vox/voices/a/ref.wav"]  # under the prefix


async def test_stream_hands_the_object_on_in_chunks(store: S3BlobStore) -> None:
    data = bytes(range(256)) * 1000  # 256 000 bytes
    await store.put("jobs/big.wav", data)
    chunks = [c async for c in store.stream("jobs/big.wav", chunk_size=64 * 1024)]
    assert b"".join(chunks) == data
    assert len(chunks) == 4 and max(len(c) for c in chunks) <= 64 * 1024


async def test_missing_blobs_raise_storage_error(store: S3BlobStore) -> None:
    for read in (store.get, store.size):
        with pytest.raises(StorageError, match="not found"):
            await read("jobs/missing.wav")
    with pytest.raises(StorageError, match="not found"):
        async for _ in store.stream("jobs/missing.wav"):
            pass
    await store.delete("jobs/missing.wav")  # not an error


async def test_delete_and_delete_prefix(store: S3BlobStore, s3_server: peers.S3Server) -> None:
    for key in ("voices/v1/ref.wav", "voices/v1/cache/a.wav", "voices/v1/cache/b.wav"):
        await store.put(key, b"x")
    await store.put("voices/v10/ref.wav", b"x")  # shares a prefix string, not the folder
    await store.delete("voices/v1/ref.wav")
    assert not await store.exists("voices/v1/ref.wav")
    assert await store.delete_prefix("voices/v1") == 2
    assert await store.delete_prefix("voices/v1") == 0
    assert await store.exists("voices/v10/ref.wav")


async def test_stores_with_other_prefixes_do_not_see_each_other(
    s3_server: peers.S3Server, bucket: str
) -> None:
    a, b = _store(s3_server, bucket, "tenant-a"), _store(s3_server, bucket, "")
    await a.put("jobs/1.wav", b"a")
    assert not await b.exists("jobs/1.wav")
    assert await b.exists("tenant-a/jobs/1.wav")


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../../b", "a//b", ""])
async def test_invalid_keys_are_refused(store: S3BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.put(key, b"x")


async def test_a_missing_bucket_is_a_storage_error(s3_server: peers.S3Server) -> None:
    nowhere = _store(s3_server, "no-such-bucket-here")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        await nowhere.put("jobs/a.wav", b"x")


async def test_an_unreachable_server_is_a_storage_error() -> None:
    gone = S3BlobStore(
        "b",
        endpoint_url=f"http://127.0.0.1:{peers.free_port()}",
        access_key_id="k",
        secret_access_key="s",
    )
    with pytest.raises(StorageError, match="cannot access"):
        await gone.get("jobs/a.wav")


def test_a_missing_boto3_names_the_extra_to_install() -> None:
    from voxclone.storage.s3 import _require

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'voxclone\[distributed\]'"):
        _require("boto3_that_is_not_installed")
