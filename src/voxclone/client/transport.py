"""The HTTP core: sends ``Call``s with httpx, maps errors, retries, and runs operations.

``SyncTransport`` and ``AsyncTransport`` are the only places that differ between the two
clients; everything above them is shared (``calls``, the resource modules).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, Retrying, retry_if_exception

from voxclone import __version__
from voxclone.client.calls import Call, Op, Sleep
from voxclone.client.errors import ClientError, Timeout, TransportError, error_for
from voxclone.client.retry import RetryPolicy

T = TypeVar("T")


def client_options(
    base_url: str, api_key: str | None, timeout: float | httpx.Timeout | None
) -> dict[str, Any]:
    headers = {"User-Agent": f"voxclone-client/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return {"base_url": base_url.rstrip("/"), "headers": headers, "timeout": timeout}


def _translate(exc: httpx.HTTPError, call: Call) -> TransportError:
    where = f"{call.method} {call.path}"
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"{where}: no answer in time ({type(exc).__name__})")
    return TransportError(f"{where}: {type(exc).__name__}: {exc}")


class SyncTransport:
    def __init__(self, http: httpx.Client, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    def _retrying(self) -> Retrying:
        policy = self.retry
        return Retrying(
            retry=retry_if_exception(policy.retryable),
            wait=policy.wait,
            stop=policy.stop,
            reraise=True,
        )

    def _once(self, call: Call) -> httpx.Response:
        try:
            response = self.http.request(**call.httpx_kwargs())
        except httpx.HTTPError as exc:
            raise _translate(exc, call) from exc
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def send(self, call: Call) -> httpx.Response:
        return self._retrying()(self._once, call)

    @contextmanager
    def stream(self, call: Call) -> Iterator[httpx.Response]:
        """The response with its body unread; errors (and retries) before the body starts."""
        for attempt in self._retrying():
            with attempt:
                request = self.http.build_request(**call.httpx_kwargs())
                try:
                    response = self.http.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise _translate(exc, call) from exc
                if response.status_code >= 400:
                    response.read()
                    response.close()
                    raise error_for(response)
        try:
            yield response
        except httpx.HTTPError as exc:
            raise _translate(exc, call) from exc
        finally:
            response.close()

    def run(self, op: Op[T]) -> T:
        try:
            step = op.send(None)
            while True:
                sent: Any = None
                try:
                    if isinstance(step, Sleep):
                        time.sleep(step.seconds)
                    else:
                        sent = self.send(step)
                except ClientError as exc:  # the operation may handle it (a 404, say)
                    step = op.throw(exc)
                    continue
                step = op.send(sent)
        except StopIteration as stop:
            result: T = stop.value
            return result


class AsyncTransport:
    def __init__(self, http: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self.http = http
        self.retry = retry

    def _retrying(self) -> AsyncRetrying:
        policy = self.retry
        return AsyncRetrying(
            retry=retry_if_exception(policy.retryable),
            wait=policy.wait,
            stop=policy.stop,
            reraise=True,
        )

    async def _once(self, call: Call) -> httpx.Response:
        try:
            response = await self.http.request(**call.httpx_kwargs())
        except httpx.HTTPError as exc:
            raise _translate(exc, call) from exc
        if response.status_code >= 400:
            raise error_for(response)
        return response

    async def send(self, call: Call) -> httpx.Response:
        response: httpx.Response = await self._retrying()(self._once, call)
        return response

    @asynccontextmanager
    async def stream(self, call: Call) -> AsyncIterator[httpx.Response]:
        async for attempt in self._retrying():
            with attempt:
                request = self.http.build_request(**call.httpx_kwargs())
                try:
                    response = await self.http.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise _translate(exc, call) from exc
                if response.status_code >= 400:
                    await response.aread()
                    await response.aclose()
                    raise error_for(response)
        try:
            yield response
        except httpx.HTTPError as exc:
            raise _translate(exc, call) from exc
        finally:
            await response.aclose()

    async def run(self, op: Op[T]) -> T:
        try:
            step = op.send(None)
            while True:
                sent: Any = None
                try:
                    if isinstance(step, Sleep):
                        await asyncio.sleep(step.seconds)
                    else:
                        sent = await self.send(step)
                except ClientError as exc:  # the operation may handle it (a 404, say)
                    step = op.throw(exc)
                    continue
                step = op.send(sent)
        except StopIteration as stop:
            result: T = stop.value
            return result
