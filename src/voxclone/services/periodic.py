"""A background loop that runs one step every so often until stopped: the job sweeper, the
history sweeper and the callback timeouts each run one. A step that fails is logged and the loop
goes on; errors a step expects (a queue that is briefly away) it handles itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, step: Callable[[], Awaitable[object]], every_s: float) -> None:
        self._name = name
        self._step = step
        self._every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"voxclone-{self._name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._every_s)
