"""Outbound webhooks: when a job with a ``callback_url`` ends, POST its JSON there, signed.

The delivery is a row (``webhook_deliveries``) written when the job ends, so a restart loses
nothing: a dispatcher on every API host polls for due deliveries every ``poll_s``, and each is
claimed by one host at a time (``db.webhooks.claim_delivery``). The first attempt is made at
once, in the background. A 2xx answer delivers; anything else (another status, a network error,
a refused address) is retried with exponential back-off until ``max_age_s`` has passed since the
job ended, then the delivery fails. Every attempt is logged (``GET /v1/jobs/{id}/deliveries``).

Each attempt is signed at send time with the key's current webhook secret (``voxclone.webhooks``),
so a rotation applies to retries too. A key without a secret gets one generated when its first
delivery is created; its owner sees it by rotating (``POST /v1/keys/{id}/webhook-secret``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState, Retrying, wait_exponential

from voxclone import webhooks as signing
from voxclone.config import WebhookSettings
from voxclone.core.errors import NotFound, UrlNotAllowed
from voxclone.core.types import new_id, parse_id
from voxclone.db import jobs as job_queries
from voxclone.db import keys as key_queries
from voxclone.db import webhooks as queries
from voxclone.db.tables import Job, utcnow
from voxclone.services.keys import generate_webhook_secret
from voxclone.services.outbound_http import UrlGuard
from voxclone.services.webhook_payload import DeliveryView, delivery_view, event_for, job_payload

log = logging.getLogger(__name__)

FIELD = "callback_url"
_DELIVERY_IDS = uuid.UUID("6f0d3c1e-6b8e-4f7e-9a43-0c1f3a6f5d21")
"""Namespace of delivery ids: one delivery per job, however often its end is announced."""


def delivery_id_for(job_id: str) -> str:
    return str(uuid.uuid5(_DELIVERY_IDS, job_id))


def backoff_s(attempt: int, settings: WebhookSettings) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): doubling from
    ``first_backoff_s``, at most ``max_backoff_s`` (tenacity's exponential wait)."""
    wait = wait_exponential(multiplier=settings.first_backoff_s, max=settings.max_backoff_s)
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = attempt
    return float(wait(state))


class WebhookService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: WebhookSettings,
        guard: UrlGuard | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._guard = guard or UrlGuard(allow_private=settings.allow_private_urls)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def check_callback_url(self, url: str | None) -> str | None:
        """``url`` if webhooks may be sent there (None stays None); UrlNotAllowed (422)."""
        if url is None:
            return None
        return await self._guard.check_url(url, field=FIELD)

    # --- creating deliveries ----------------------------------------------------------------

    async def on_job_finished(self, job: Job) -> None:
        """The ``JobEvents`` listener: record a delivery for the job and try it at once."""
        if not job.callback_url:
            return
        delivery_id = delivery_id_for(job.id)
        async with self._sessions() as session:
            created = await queries.create_delivery(
                session,
                id=delivery_id,
                job_id=job.id,
                key_id=job.key_id,
                url=job.callback_url,
                event=event_for(job.status),
                payload=job_payload(job, public_url=self._settings.public_url).decode(),
                now=utcnow(),
            )
            if created:
                await queries.ensure_webhook_secret(
                    session, key_id=job.key_id, secret=generate_webhook_secret()
                )
            await session.commit()
        if created:
            self._spawn(delivery_id)

    # --- sending ----------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Try every delivery that is due and not held by another host; how many were tried."""
        async with self._sessions() as session:
            due = await queries.list_due_ids(session, now=utcnow())
        tried = await asyncio.gather(*(self.attempt(delivery_id) for delivery_id in due))
        return sum(tried)

    async def attempt(self, delivery_id: str) -> bool:
        """Claim the delivery and send it once; False if it was not ours to send now."""
        now = utcnow()
        hold = timedelta(seconds=self._settings.timeout_s + 5)
        async with self._sessions() as session:
            delivery = await queries.claim_delivery(
                session, delivery_id=delivery_id, now=now, hold_until=now + hold
            )
            key = await key_queries.get_key(session, key_id=delivery.key_id) if delivery else None
            await session.commit()
        if delivery is None:
            return False
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            signing.EVENT_HEADER: delivery.event,
            signing.DELIVERY_HEADER: delivery.id,
            "User-Agent": "voxclone-webhooks",
        }
        if key is not None and key.webhook_secret:
            headers[signing.SIGNATURE_HEADER] = signing.sign(body, key.webhook_secret)
        started = time.monotonic()
        status_code, error = await self._post(delivery.url, body, headers)
        duration_ms = round((time.monotonic() - started) * 1000)
        await self._record(
            delivery.id, delivery.attempts, delivery.created_at, status_code, error, duration_ms
        )
        return True

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        """The answer's status code, or an error saying why there was none."""
        if self._client is None:
            self._client = self._guard.client(timeout_s=self._settings.timeout_s, field=FIELD)
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                async with self._client.stream("POST", url, content=body, headers=headers) as r:
                    code = r.status_code
        except UrlNotAllowed as exc:
            return None, exc.message
        except TimeoutError:
            return None, f"no answer within {self._settings.timeout_s} s"
        except (httpx.HTTPError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        if 200 <= code < 300:
            return code, None
        return code, f"HTTP {code}"

    async def _record(
        self,
        delivery_id: str,
        attempt: int,
        created_at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
    ) -> None:
        at = utcnow()
        next_at = None
        if error is None:
            status = queries.DELIVERED
        else:
            next_at = at + timedelta(seconds=backoff_s(attempt, self._settings))
            give_up_at = created_at + timedelta(seconds=self._settings.max_age_s)
            status = queries.FAILED if next_at > give_up_at else queries.PENDING
        async with self._sessions() as session:
            await queries.record_attempt(
                session,
                delivery_id=delivery_id,
                attempt=attempt,
                attempt_id=new_id(),
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                status=status,
                next_attempt_at=next_at,
            )
            await session.commit()
        if status != queries.DELIVERED:
            log.info("webhook %s attempt %d: %s (now %s)", delivery_id, attempt, error, status)

    # --- the delivery log -------------------------------------------------------------------

    async def deliveries(self, *, key_id: str, job_id: str) -> list[DeliveryView]:
        """The job's deliveries with their attempts; NotFound for another key's job."""
        job_id = parse_id(job_id, what="job_id")
        async with self._sessions() as session:
            job = await job_queries.get_job(session, job_id=job_id, key_id=key_id)
            if job is None:
                raise NotFound(f"job {job_id} not found", job_id=job_id)
            logs = await queries.list_deliveries(session, job_id=job_id)
        return [delivery_view(entry.delivery, entry.attempts) for entry in logs]

    # --- the dispatcher ---------------------------------------------------------------------

    def start(self) -> None:
        """Poll for due deliveries every ``poll_s`` until ``close``."""
        if self._loop is None:
            self._stopping.clear()
            self._loop = asyncio.create_task(self._dispatch(), name="voxclone-webhooks")

    async def _dispatch(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("webhook dispatcher: a round failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.poll_s)

    def _spawn(self, delivery_id: str) -> None:
        """The first attempt, in the background (the job's worker does not wait for it)."""
        task = asyncio.create_task(self._first_attempt(delivery_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _first_attempt(self, delivery_id: str) -> None:
        try:
            await self.attempt(delivery_id)
        except Exception:
            log.exception(
                "webhook %s: the first attempt failed; the dispatcher retries", delivery_id
            )

    async def close(self) -> None:
        """Stop the dispatcher, letting attempts in flight finish and record their outcome
        (each is bounded by ``timeout_s``); then close the HTTP client. An attempt still
        running after that is cancelled: its claim expires, and another host or the next
        start sends it again."""
        self._stopping.set()
        tasks = [*self._tasks, *([self._loop] if self._loop else [])]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._settings.timeout_s + 5)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
