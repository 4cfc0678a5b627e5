"""Resource groups are written once: each API call is an operation builder (a function
returning an ``Op``), and a resource class lists them as ``sync_op(builder)`` or
``async_op(builder)``. The descriptor gives the builder's own signature, typed, returning the
result (sync) or an awaitable of it (async)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, TypeVar

from voxclone.client.calls import Op
from voxclone.client.transport import AsyncTransport, SyncTransport

P = ParamSpec("P")
T = TypeVar("T")


class SyncResource:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport


class AsyncResource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport


class sync_op(Generic[P, T]):
    def __init__(self, build: Callable[P, Op[T]]) -> None:
        self._build = build

    def __get__(self, obj: SyncResource | None, owner: Any = None) -> Callable[P, T]:
        build = self._build
        if obj is None:
            raise AttributeError("call it on a client's resource, not on the class")
        transport = obj._transport

        @functools.wraps(build)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return transport.run(build(*args, **kwargs))

        return call


class async_op(Generic[P, T]):
    def __init__(self, build: Callable[P, Op[T]]) -> None:
        self._build = build

    def __get__(self, obj: AsyncResource | None, owner: Any = None) -> Callable[P, Awaitable[T]]:
        build = self._build
        if obj is None:
            raise AttributeError("call it on a client's resource, not on the class")
        transport = obj._transport

        @functools.wraps(build)
        async def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return await transport.run(build(*args, **kwargs))

        return call
