from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from voxclone.config import S3Settings, Settings
from voxclone.storage.factory import open_blob_store
from voxclone.storage.local import LocalBlobStore
from voxclone.storage.s3 import S3BlobStore


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


def test_s3_urls_open_an_s3_store_with_the_settings_credentials():
    s3 = S3Settings(
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-1",
        access_key_id=SecretStr("AKIA"),
        secret_access_key=SecretStr("shh"),
    )
    store = open_blob_store("s3://audio/voxclone/prod/", s3=s3)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("audio", "voxclone/prod")
    assert store.object_key("jobs/a.wav") == "voxclone/prod/jobs/a.wav"
    assert "shh" not in repr(store)


def test_an_s3_url_without_a_prefix_stores_at_the_bucket_root():
    store = open_blob_store("s3://audio")
    assert isinstance(store, S3BlobStore)
    assert store.object_key("jobs/a.wav") == "jobs/a.wav"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gs://bucket/x", "unknown scheme 'gs'"),
        ("file://otherhost/data", "not a host"),
        ("file:///data?x=1", "no query"),
        ("", "empty"),
        ("s3:///prefix", "no bucket"),
        ("s3://key:secret@bucket/x", "VOXCLONE_S3__"),
        ("s3://bucket/a/../b", "invalid prefix"),
        ("s3://bucket/x?region=eu", "no query"),
    ],
)
def test_urls_it_cannot_open(url: str, message: str):
    with pytest.raises(ValueError, match=message):
        open_blob_store(url)
