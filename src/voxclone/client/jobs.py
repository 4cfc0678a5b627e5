"""Jobs: get, list, cancel, download, and ``wait()``.

The server offers no job event stream (no SSE or WebSocket for jobs), so ``wait`` polls
``GET /v1/jobs/{id}``: first after ``poll_s``, then each wait 1.5 times longer, at most
``max_poll_s``, reporting progress as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from voxclone.client import calls as c
from voxclone.client.calls import Call, Op
from voxclone.client.errors import JobFailed, WaitTimeout
from voxclone.client.models import Audio, Job, JobPage
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op

BASE = "/v1/jobs"


def get(job_id: str) -> Op[Job]:
    return c.model(Call("GET", f"{BASE}/{job_id}"), Job)


def list_(
    *,
    kind: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Op[JobPage]:
    params = {"kind": kind, "status": status, "limit": limit, "cursor": cursor}
    return c.model(Call("GET", BASE, params=params), JobPage)


def cancel(job_id: str) -> Op[Job]:
    return c.model(Call("DELETE", f"{BASE}/{job_id}"), Job)


def audio(job_id: str) -> Op[Audio]:
    """A finished job's audio (404 ``job_not_ready`` before it is)."""
    response = yield from c.send(Call("GET", f"{BASE}/{job_id}/audio"))
    return Audio.of(response)


def wait(
    job_id: str,
    *,
    timeout: float = 600.0,
    poll_s: float = 0.2,
    max_poll_s: float = 2.0,
    on_progress: Callable[[float], None] | None = None,
    raise_on_failure: bool = True,
) -> Op[Job]:
    """Poll until the job is ready, failed or cancelled. A failed or cancelled job raises
    ``JobFailed`` (unless ``raise_on_failure=False``); past ``timeout``, ``WaitTimeout``."""
    deadline = time.monotonic() + timeout
    interval = poll_s
    while True:
        job = yield from get(job_id)
        if on_progress is not None:
            on_progress(1.0 if job.status == "ready" else job.progress)
        if job.done:
            if job.status != "ready" and raise_on_failure:
                raise JobFailed(job)
            return job
        if time.monotonic() + interval > deadline:
            raise WaitTimeout(job, timeout)
        yield from c.sleep(interval)
        interval = min(interval * 1.5, max_poll_s)


def result_audio(
    job_id: str,
    *,
    timeout: float = 600.0,
    on_progress: Callable[[float], None] | None = None,
) -> Op[Audio]:
    """Wait for the job, then download its audio."""
    yield from wait(job_id, timeout=timeout, on_progress=on_progress)
    return (yield from audio(job_id))


class Jobs(SyncResource):
    get = sync_op(get)
    list = sync_op(list_)
    cancel = sync_op(cancel)
    audio = sync_op(audio)
    wait = sync_op(wait)
    result_audio = sync_op(result_audio)


class AsyncJobs(AsyncResource):
    get = async_op(get)
    list = async_op(list_)
    cancel = async_op(cancel)
    audio = async_op(audio)
    wait = async_op(wait)
    result_audio = async_op(result_audio)
