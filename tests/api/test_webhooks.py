"""Outbound webhooks through HTTP: callback_url on job-creating requests, signed deliveries to a
real receiver on loopback, retries with back-off, the delivery log, restarts, two dispatchers;
and reference_audio_url on the voice and one-shot endpoints."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav, wait_for_job
from tests.receiver import Receiver
from voxclone.api.app import create_app
from voxclone.config import Settings
from voxclone.db.session import create_db_engine, create_session_factory
from voxclone.services.container import Services, build_services
from voxclone.services.webhooks import WebhookService
from voxclone.webhooks import SignatureError, verify

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FAST = {
    "allow_private_urls": True,
    "first_backoff_s": 0.05,
    "max_backoff_s": 0.2,
    "poll_s": 0.05,
    "timeout_s": 2.0,
}


def webhook_settings(tmp_path: Path, database_url: str, **webhooks: Any) -> Settings:
    return make_settings(
        tmp_path / "data", database_url=database_url, webhooks={**FAST, **webhooks}
    )


@asynccontextmanager
async def running(
    settings: Settings, **fake_options: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    services = build_services(settings, engines=fake_registry(**fake_options))
    app = create_app(services=services)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c, services


async def new_user(c: httpx.AsyncClient, label: str = "alice") -> tuple[dict[str, str], str]:
    r = await c.post("/v1/keys", json={"label": label}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}, r.json()["key_id"]


async def rotate_secret(c: httpx.AsyncClient, user: dict[str, str], key_id: str) -> str:
    r = await c.post(f"/v1/keys/{key_id}/webhook-secret", headers=user)
    assert r.status_code == 201, r.text
    return str(r.json()["webhook_secret"])


async def new_voice(c: httpx.AsyncClient, user: dict[str, str]) -> str:
    r = await c.post(
        "/v1/voices",
        data={"name": "v", "ref_text": "hello"},
        files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


async def synthesize_job(
    c: httpx.AsyncClient, user: dict[str, str], voice_id: str, hook: str, text: str = "Hi there."
) -> str:
    r = await c.post(
        "/v1/synthesize",
        json={"voice_id": voice_id, "text": text, "callback_url": hook},
        headers=user,
    )
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


async def wait_for_delivery(
    c: httpx.AsyncClient, job_id: str, user: dict[str, str], *, status: str, timeout_s: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    deliveries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        r = await c.get(f"/v1/jobs/{job_id}/deliveries", headers=user)
        assert r.status_code == 200, r.text
        deliveries = r.json()
        if deliveries and deliveries[0]["status"] == status:
            return deliveries[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {status} delivery for job {job_id} in {timeout_s} s: {deliveries}")


async def until(condition: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver(files={"ref.wav": tone_wav(), "notes.txt": b"not audio at all\n" * 64})
    with hooks.serve() as url:
        yield hooks, url


async def test_a_finished_job_is_posted_signed_and_retried_until_accepted(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    hooks.fail_first = 2
    async with running(webhook_settings(tmp_path, database_url)) as (c, _):
        user, key_id = await new_user(c)
        secret = await rotate_secret(c, user, key_id)
        job_id = await synthesize_job(c, user, await new_voice(c, user), f"{base}/hook")
        job = await wait_for_job(c, job_id, user)
        delivery = await wait_for_delivery(c, job_id, user, status="delivered")

    got = hooks.snapshot()
    assert len(got) == 3
    for request in got:
        verify(request.body, request.headers["x-voxclone-signature"], secret)
        assert request.headers["x-voxclone-event"] == "job.ready"
        assert request.headers["x-voxclone-delivery"] == delivery["delivery_id"]
        assert request.headers["content-type"] == "application/json"
    with pytest.raises(SignatureError):
        verify(got[0].body, got[0].headers["x-voxclone-signature"], "whsec_wrong")
    payload = json.loads(got[-1].body)
    assert payload["audio_url"] == f"/v1/jobs/{job_id}/audio"
    assert job["audio_url"] == f"http://test/v1/jobs/{job_id}/audio"
    assert payload["result_url"] == f"/v1/jobs/{job_id}/result"
    urls = {"audio_url": None, "result_url": None}
    assert {**payload, **urls} == {**job, **urls}

    assert delivery["event"] == "job.ready" and delivery["url"] == f"{base}/hook"
    assert delivery["delivered_at"] is not None and delivery["next_attempt_at"] is None
    attempts = delivery["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 500", None]
    gaps = [
        (_time(later["at"]) - _time(earlier["at"]))
        for earlier, later in itertools.pairwise(attempts)
    ]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # doubling from first_backoff_s


def _time(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def test_a_failed_job_is_told_and_a_key_without_secret_gets_one(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    async with running(webhook_settings(tmp_path, database_url)) as (c, services):
        user, key_id = await new_user(c)
        voice_id = await new_voice(c, user)
        job_id = await synthesize_job(c, user, voice_id, f"{base}/hook", text="Please FAIL now.")
        await wait_for_delivery(c, job_id, user, status="delivered")
        secret = (await services.keys.get(key_id=key_id)).webhook_secret
    assert secret is not None and secret.startswith("whsec_")
    (request,) = hooks.snapshot()
    verify(request.body, request.headers["x-voxclone-signature"], secret)
    assert request.headers["x-voxclone-event"] == "job.failed"
    assert json.loads(request.body)["status"] == "failed"


async def test_a_cancelled_job_is_told_once(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    async with running(webhook_settings(tmp_path, database_url), delay_s=3.0) as (c, _):
        user, _ = await new_user(c)
        voice_id = await new_voice(c, user)
        job_id = await synthesize_job(c, user, voice_id, f"{base}/hook")
        r = await c.delete(f"/v1/jobs/{job_id}", headers=user)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        delivery = await wait_for_delivery(c, job_id, user, status="delivered")
        await asyncio.sleep(0.3)  # the runner notices the cancellation too
        r = await c.get(f"/v1/jobs/{job_id}/deliveries", headers=user)
    assert len(r.json()) == 1 and delivery["event"] == "job.cancelled"
    assert [req.headers["x-voxclone-event"] for req in hooks.snapshot()] == ["job.cancelled"]


async def test_gives_up_after_max_age(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    hooks.fail_first = -1
    settings = webhook_settings(tmp_path, database_url, max_age_s=0.3)
    async with running(settings) as (c, _):
        user, _ = await new_user(c)
        job_id = await synthesize_job(c, user, await new_voice(c, user), f"{base}/hook")
        delivery = await wait_for_delivery(c, job_id, user, status="failed")
    # How many attempts fit in 0.3 s depends on the machine's load; at least one was made,
    # and none after the delivery was given up.
    assert len(delivery["attempts"]) >= 1
    assert len(hooks.snapshot()) == len(delivery["attempts"])
    assert all(a["status_code"] == 500 for a in delivery["attempts"])
    assert delivery["next_attempt_at"] is None


async def test_a_pending_delivery_survives_a_restart(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    hooks.fail_first = -1
    settings = webhook_settings(tmp_path, database_url, max_backoff_s=0.1)
    async with running(settings) as (c, _):
        user, _ = await new_user(c)
        job_id = await synthesize_job(c, user, await new_voice(c, user), f"{base}/hook")
        await until(lambda: len(hooks.snapshot()) >= 2)
    failed_before = len(hooks.snapshot())
    hooks.accept_all()
    async with running(settings) as (c, _):
        delivery = await wait_for_delivery(c, job_id, user, status="delivered")
    assert len(hooks.snapshot()) > failed_before
    assert delivery["attempts"][-1]["status_code"] == 200
    assert len(delivery["attempts"]) == len(hooks.snapshot())


async def test_two_dispatchers_do_not_send_a_delivery_twice(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    hooks.fail_first = 1
    settings = webhook_settings(tmp_path, database_url, first_backoff_s=1.0, max_backoff_s=1.0)
    async with running(settings) as (c, services):
        user, _ = await new_user(c)
        job_id = await synthesize_job(c, user, await new_voice(c, user), f"{base}/hook")
        await wait_for_delivery(c, job_id, user, status="pending")
        await until(lambda: bool(hooks.snapshot()))
        await services.webhooks.close()  # this host's dispatcher stops; two others race
        engine = create_db_engine(settings.resolved_database_url)
        others = [
            WebhookService(sessions=create_session_factory(engine), settings=settings.webhooks)
            for _ in range(2)
        ]
        try:
            await asyncio.sleep(1.1)  # the retry is due
            rounds = [other.deliver_due() for other in others for _ in range(3)]
            tried = await asyncio.gather(*rounds)
        finally:
            for other in others:
                await other.close()
            await engine.dispose()
        delivery = await wait_for_delivery(c, job_id, user, status="delivered")
    assert sum(tried) == 1
    assert len(hooks.snapshot()) == 2
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]


async def test_a_callback_url_to_loopback_is_refused_unless_allowed(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    assert not settings.webhooks.allow_private_urls
    async with running(settings) as (c, _):
        user, _ = await new_user(c)
        voice_id = await new_voice(c, user)
        for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/", "ftp://example.com/"):
            r = await c.post(
                "/v1/synthesize",
                json={"voice_id": voice_id, "text": "Hello.", "callback_url": url},
                headers=user,
            )
            assert r.status_code == 422, r.text
            body = r.json()
            assert body["error"] == "url_not_allowed"
            assert body["details"]["field"] == "callback_url" and body["details"]["reason"]
        r = await c.post(
            "/v1/voices",
            data={"name": "v", "callback_url": "http://10.0.0.1/hook"},
            files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        assert r.status_code == 422 and r.json()["details"]["field"] == "callback_url"
        r = await c.post(
            "/v1/biometrics/jobs",
            data={"callback_url": "http://[::1]/hook"},
            files={"audio": ("a.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        assert r.status_code == 422 and r.json()["error"] == "url_not_allowed"


async def test_another_keys_job_has_no_delivery_log(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    _, base = receiver
    async with running(webhook_settings(tmp_path, database_url)) as (c, _):
        alice, _ = await new_user(c, "alice")
        bob, _ = await new_user(c, "bob")
        job_id = await synthesize_job(c, alice, await new_voice(c, alice), f"{base}/hook")
        assert (await c.get(f"/v1/jobs/{job_id}/deliveries", headers=bob)).status_code == 404
        missing = "00000000-0000-4000-8000-000000000000"
        assert (await c.get(f"/v1/jobs/{missing}/deliveries", headers=alice)).status_code == 404


async def test_voice_fitting_tells_its_callback_url(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    hooks, base = receiver
    settings = webhook_settings(tmp_path, database_url)
    async with running(settings, fitting=True) as (c, _):
        user, _ = await new_user(c)
        r = await c.post(
            "/v1/voices",
            data={"name": "fitted", "callback_url": f"{base}/hook"},
            files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        assert r.status_code == 201, r.text
        job_id = r.json()["fit_job_id"]
        await wait_for_delivery(c, job_id, user, status="delivered")
    payload = json.loads(hooks.snapshot()[0].body)
    assert payload["kind"] == "fit_voice" and payload["status"] == "ready"


async def test_a_voice_from_a_reference_audio_url(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    _, base = receiver
    async with running(webhook_settings(tmp_path, database_url)) as (c, _):
        user, _ = await new_user(c)
        ok = await c.post(
            "/v1/voices",
            data={"name": "v", "reference_audio_url": f"{base}/files/ref.wav"},
            headers=user,
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["ref_duration_s"] > 3
        both = await c.post(
            "/v1/voices",
            data={"name": "v", "reference_audio_url": f"{base}/files/ref.wav"},
            files={"ref_audio": ("r.wav", tone_wav(), "audio/wav")},
            headers=user,
        )
        assert both.status_code == 400 and "not both" in both.json()["message"]
        text = await c.post(
            "/v1/voices",
            data={"name": "v", "reference_audio_url": f"{base}/files/notes.txt"},
            headers=user,
        )
        assert text.status_code == 422 and text.json()["error"] == "invalid_audio"
        oneshot = await c.post(
            "/api/v1/voice/synthesize",
            data={"text": "Hello there.", "reference_audio_url": f"{base}/files/ref.wav"},
            headers=user,
        )
        assert oneshot.status_code == 200, oneshot.text
        assert oneshot.headers["content-type"].startswith("audio/")


async def test_a_reference_audio_url_to_loopback_is_refused_by_default(
    tmp_path: Path, database_url: str, receiver: tuple[Receiver, str]
) -> None:
    _, base = receiver
    async with running(make_settings(tmp_path / "data", database_url=database_url)) as (c, _):
        user, _ = await new_user(c)
        r = await c.post(
            "/v1/voices",
            data={"name": "v", "reference_audio_url": f"{base}/files/ref.wav"},
            headers=user,
        )
        assert r.status_code == 422
        assert r.json()["error"] == "url_not_allowed"
        assert r.json()["details"]["field"] == "reference_audio_url"
