"""The distributed mode's settings: what they refuse, and that secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from tests.conftest import make_settings


def test_distributed_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxclone.config import Settings

    for name, value in {
        "VOXCLONE_QUEUE": "celery",
        "VOXCLONE_REDIS_URL": "redis://redis:6379/0",
        "VOXCLONE_STORAGE_URL": "s3://audio/voxclone",
        "VOXCLONE_S3__ENDPOINT_URL": "http://minio:9000",
        "VOXCLONE_S3__ACCESS_KEY_ID": "voxclone",
        "VOXCLONE_S3__SECRET_ACCESS_KEY": "very-secret",
        "VOXCLONE_WORKER__CONCURRENCY": "2",
        "VOXCLONE_JOBS__LEASE_S": "30",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert (settings.queue, settings.worker.concurrency, settings.jobs.lease_s) == (
        "celery",
        2,
        30.0,
    )
    assert settings.s3.secret_access_key is not None
    assert settings.s3.secret_access_key.get_secret_value() == "very-secret"
    assert "very-secret" not in repr(settings)


def test_celery_needs_a_redis_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="VOXCLONE_REDIS_URL"):
        make_settings(tmp_path, queue="celery")


def test_the_visibility_timeout_must_outlast_the_lease(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="visibility_timeout_s"):
        make_settings(tmp_path, jobs={"lease_s": 60}, worker={"visibility_timeout_s": 60})


def test_the_heartbeat_must_fit_twice_in_the_lease(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="heartbeat_s"):
        make_settings(tmp_path, jobs={"lease_s": 10, "heartbeat_s": 6})


def test_the_queue_name_is_a_plain_redis_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="queue_name"):
        make_settings(tmp_path, worker={"queue_name": "a queue"})
