from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from voxclone.core.errors import StorageError
from voxclone.storage.base import BlobStore
from voxclone.storage.local import LocalBlobStore


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_it_is_a_blob_store(store: LocalBlobStore):
    assert isinstance(store, BlobStore)


async def test_put_get_roundtrip_and_replace(store: LocalBlobStore):
    await store.put("voices/v1/ref.wav", b"RIFF1")
    assert await store.get("voices/v1/ref.wav") == b"RIFF1"
    await store.put("voices/v1/ref.wav", bytearray(b"RIFF22"))
    assert await store.get("voices/v1/ref.wav") == b"RIFF22"
    assert (store.root / "voices" / "v1" / "ref.wav").read_bytes() == b"RIFF22"


async def test_exists_and_size(store: LocalBlobStore):
    assert await store.exists("a/b.bin") is False
    await store.put("a/b.bin", b"x" * 1234)
    assert await store.exists("a/b.bin") is True
    assert await store.size("a/b.bin") == 1234
    assert await store.exists("a") is False  # a directory holds no blob


async def test_stream_yields_bounded_chunks(store: LocalBlobStore):
    data = os.urandom(10_000)
    await store.put("big.bin", data)
    chunks = [chunk async for chunk in store.stream("big.bin", chunk_size=4096)]
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert b"".join(chunks) == data


async def test_stream_of_an_empty_blob_yields_nothing(store: LocalBlobStore):
    await store.put("empty", b"")
    assert [c async for c in store.stream("empty")] == []


async def test_a_stream_closed_early_releases_its_file(store: LocalBlobStore):
    await store.put("big.bin", b"z" * 100)
    stream = store.stream("big.bin", chunk_size=10)
    assert await anext(stream) == b"z" * 10
    await stream.aclose()  # type: ignore[attr-defined]  # an unclosed file would warn (an error here)


async def test_missing_blobs_raise_storage_error_naming_the_key(store: LocalBlobStore):
    with pytest.raises(StorageError) as info:
        await store.get("no/such.wav")
    assert info.value.details == {"key": "no/such.wav"}
    with pytest.raises(StorageError, match=r"no/such\.wav"):
        await store.size("no/such.wav")
    stream = store.stream("no/such.wav")  # the error comes with the first read
    with pytest.raises(StorageError) as info:
        await anext(stream)
    assert info.value.details == {"key": "no/such.wav"}


async def test_a_directory_is_not_a_blob(store: LocalBlobStore):
    await store.put("dir/inner.bin", b"x")
    with pytest.raises(StorageError):
        await store.get("dir")
    with pytest.raises(StorageError):
        await store.size("dir")
    with pytest.raises(StorageError):
        await anext(store.stream("dir"))


async def test_delete_is_quiet_about_missing_keys(store: LocalBlobStore):
    await store.put("a/b.bin", b"1")
    await store.delete("a/b.bin")
    assert await store.exists("a/b.bin") is False
    await store.delete("a/b.bin")
    await store.delete("never/was.bin")


async def test_delete_prefix_removes_the_tree(store: LocalBlobStore):
    for key in ("voices/v1/ref.wav", "voices/v1/cache/x.wav", "voices/v1/cache/y.wav"):
        await store.put(key, b"data")
    await store.put("voices/v10/ref.wav", b"keep")
    await store.put("voices/v1.wav", b"keep")  # shares the text prefix, not the directory
    assert await store.delete_prefix("voices/v1") == 3
    assert _files(store.root) == ["voices/v1.wav", "voices/v10/ref.wav"]
    assert await store.delete_prefix("voices/v1/") == 0
    assert await store.delete_prefix("nothing/here") == 0
    assert await store.delete_prefix("voices/v1.wav") == 0  # a blob is not a prefix
    assert await store.get("voices/v1.wav") == b"keep"


BAD_KEYS = [
    "",
    "../escape.wav",
    "a/../../escape.wav",
    "a/..",
    "/etc/passwd",
    "a//b",
    "a/./b",
    ".hidden",
    "a/.b.tmp",
    "a\\b",
    "a/b/",
    "voices/..",
    "C:/x",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_invalid_keys_are_refused_everywhere(store: LocalBlobStore, key: str, tmp_path: Path):
    with pytest.raises(ValueError, match="invalid blob key"):
        await store.put(key, b"x")
    for call in (store.get, store.exists, store.size, store.delete):
        with pytest.raises(ValueError):
            await call(key)
    with pytest.raises(ValueError):
        store.stream(key)
    if not key.endswith("/"):  # a trailing slash is fine on a prefix
        with pytest.raises(ValueError):
            await store.delete_prefix(key)
    assert _files(tmp_path) == []


async def test_an_empty_prefix_never_deletes_the_root(store: LocalBlobStore):
    await store.put("a.bin", b"1")
    for prefix in ("", "/"):
        with pytest.raises(ValueError):
            await store.delete_prefix(prefix)
    assert await store.exists("a.bin")


async def test_symlinks_out_of_the_root_are_refused(store: LocalBlobStore, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside the store"):
        await store.get("link/secret.txt")
    with pytest.raises(ValueError, match="outside the store"):
        await store.put("link/new.txt", b"x")
    with pytest.raises(ValueError, match="outside the store"):
        await store.delete_prefix("link")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


async def test_writes_leave_no_temporary_files(store: LocalBlobStore):
    await store.put("v/a.wav", b"1")
    await store.put("v/a.wav", b"2")
    await store.put("v/b.wav", b"3")
    assert sorted(os.listdir(store.root / "v")) == ["a.wav", "b.wav"]


async def test_a_failed_write_leaves_nothing_behind(store: LocalBlobStore):
    await store.put("v/taken/inner.wav", b"1")  # "v/taken" is a non-empty directory
    with pytest.raises(StorageError) as info:
        await store.put("v/taken", b"2")
    assert info.value.details == {"key": "v/taken"}
    assert sorted(os.listdir(store.root / "v")) == ["taken"]
    await store.put("file.bin", b"1")
    with pytest.raises(StorageError):
        await store.put("file.bin/under.bin", b"2")  # a blob is not a directory


async def test_readers_see_the_old_or_the_new_blob_never_a_mix(store: LocalBlobStore):
    size = 512 * 1024
    await store.put("race.bin", b"a" * size)

    async def read() -> bytes:
        return await store.get("race.bin")

    results = await asyncio.gather(
        store.put("race.bin", b"b" * size),
        *(read() for _ in range(6)),
        store.put("race.bin", b"c" * size),
    )
    for data in results[1:-1]:
        assert isinstance(data, bytes)
        assert data in (b"a" * size, b"b" * size, b"c" * size)


async def test_blobs_are_private_to_the_owner(store: LocalBlobStore):
    await store.put("v/a.wav", b"1")
    assert (store.root / "v" / "a.wav").stat().st_mode & 0o077 == 0


def test_the_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert LocalBlobStore(Path("rel/blobs")).root == tmp_path.resolve() / "rel" / "blobs"


def test_chunk_size_must_be_positive(store: LocalBlobStore):
    with pytest.raises(ValueError, match="chunk_size"):
        store.stream("a.bin", chunk_size=0)
