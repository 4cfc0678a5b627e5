from __future__ import annotations

from pathlib import Path

import pytest

from voxclone.config import Settings
from voxclone.storage.factory import open_blob_store
from voxclone.storage.local import LocalBlobStore


def test_file_urls_open_a_local_store(tmp_path: Path):
    store = open_blob_store((tmp_path / "my blobs").as_uri())
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "my blobs").resolve()


def test_file_urls_may_name_localhost(tmp_path: Path):
    store = open_blob_store(f"file://localhost{tmp_path}/b")
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path.resolve() / "b"


def test_plain_paths_open_a_local_store(tmp_path: Path):
    store = open_blob_store(str(tmp_path / "b"))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path.resolve() / "b"


def test_the_default_storage_url_of_the_settings_opens(tmp_path: Path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", storage_url=None)  # type: ignore[call-arg]
    store = open_blob_store(settings.resolved_storage_url)
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "data" / "blobs").resolve()


def test_s3_says_it_comes_with_the_distributed_mode():
    with pytest.raises(ValueError, match="distributed mode") as info:
        open_blob_store("s3://bucket/prefix")
    assert "s3://bucket/prefix" in str(info.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://bucket/x", "unknown scheme 'gs'"),
        ("file://otherhost/data", "not a host"),
        ("file:///data?x=1", "no query"),
        ("", "empty"),
    ],
)
def test_urls_it_cannot_open(url: str, message: str):
    with pytest.raises(ValueError, match=message):
        open_blob_store(url)
