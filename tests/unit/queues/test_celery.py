"""The Celery queue's API side against the real Redis: what it enqueues, what it holds."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from tests import peers

from voxclone.core.errors import QueueUnavailable
from voxclone.core.types import new_id
from voxclone.queue.celery import RUN_JOB_TASK, CeleryQueue, create_celery_app


@pytest.fixture
def redis_url() -> str:
    return peers.require_redis()


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[CeleryQueue]:
    name = f"voxclone-unit-{uuid.uuid4().hex[:8]}"
    q = CeleryQueue(redis_url=redis_url, queue_name=name, visibility_timeout_s=120)
    await q.start(lambda job_id: None)  # type: ignore[arg-type, return-value]
    yield q
    await q.stop()
    peers.forget_queue(name, redis_url)


def _messages(redis_url: str, queue_name: str) -> list[dict[str, object]]:
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.lrange(queue_name, 0, -1)
    finally:
        client.close()
    return [json.loads(m) for m in raw]


async def test_submit_puts_the_job_id_in_the_redis_queue(queue: CeleryQueue, redis_url: str):
    job_id = new_id()
    await queue.submit(job_id)
    (message,) = _messages(redis_url, queue.queue_name)
    headers = message["headers"]
    assert isinstance(headers, dict) and headers["task"] == RUN_JOB_TASK
    args, kwargs, _ = json.loads(base64.b64decode(str(message["body"])))
    assert (args, kwargs) == ([job_id], {})


async def test_the_queue_holds_a_job_until_a_worker_took_it(queue: CeleryQueue):
    waiting, other = new_id(), new_id()
    await queue.submit(waiting)
    assert await queue.holding([waiting, other]) == {waiting}
    assert queue.depth == 1
    await queue.taken(waiting)
    assert await queue.holding([waiting, other]) == set()
    assert await queue.holding([]) == set()


async def test_with_redis_down_submit_leaves_the_job_to_the_sweep(
    caplog: pytest.LogCaptureFixture,
):
    down = CeleryQueue(redis_url=f"redis://127.0.0.1:{peers.free_port()}/0")
    job_id = new_id()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="voxclone.queue.celery"):
        await down.submit(job_id)  # does not raise: the row is committed, the sweep retries
    assert time.monotonic() - started < 10
    assert job_id in caplog.text and "sweep" in caplog.text
    with pytest.raises(QueueUnavailable, match="unreachable"):
        await down.holding([job_id])
    await down.taken(job_id)  # logged, not raised
    await down.stop()


def test_the_celery_app_delivers_at_least_once():
    app = create_celery_app(
        redis_url="redis://127.0.0.1:6379/0", queue_name="q", visibility_timeout_s=300
    )
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 300
    assert conf.task_default_queue == "q"
    app.close()


def test_a_missing_optional_package_names_the_extra_to_install():
    from voxclone.queue.celery import require

    with pytest.raises(ModuleNotFoundError, match=r"pip install 'voxclone\[distributed\]'"):
        require("celery_that_is_not_installed")
