"""``voxclone worker``: what it needs, and the Celery app it builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import make_settings
from typer.testing import CliRunner

from voxclone.cli.main import app
from voxclone.cli.worker import WorkerProcess, create_worker_app
from voxclone.queue.celery import RUN_JOB_TASK


def test_the_worker_refuses_to_start_in_the_embedded_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("VOXCLONE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VOXCLONE_QUEUE", raising=False)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "VOXCLONE_QUEUE=celery" in result.output


def test_the_worker_app_runs_jobs_with_late_acknowledgement(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, queue="celery", redis_url="redis://127.0.0.1:6379/0", worker={"queue_name": "w"}
    )
    celery_app = create_worker_app(settings, WorkerProcess(settings))
    task = celery_app.tasks[RUN_JOB_TASK]
    assert task.acks_late is True and task.reject_on_worker_lost is True
    assert celery_app.conf.task_default_queue == "w"
    celery_app.close()


def test_the_worker_app_needs_the_celery_queue(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with pytest.raises(ValueError, match="VOXCLONE_QUEUE=celery"):
        create_worker_app(settings, WorkerProcess(settings))
