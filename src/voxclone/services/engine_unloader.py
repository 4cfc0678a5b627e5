"""Idle engine unload: local engines nothing has used for ``idle_unload_s`` are dropped from the
registry, freeing their models' memory; the next request that needs one loads it again."""

from __future__ import annotations

import asyncio
import logging

from voxclone.config.engines import EngineCacheSettings
from voxclone.engines.registry import EngineRegistry
from voxclone.services.periodic import Periodic

log = logging.getLogger(__name__)


class EngineUnloader:
    def __init__(self, *, engines: EngineRegistry, settings: EngineCacheSettings) -> None:
        self._engines = engines
        self._idle_s = settings.idle_unload_s
        every_s = min(settings.check_s, self._idle_s) if self._idle_s > 0 else settings.check_s
        self._loop = Periodic("engine-unload", self.unload_idle, every_s)

    @property
    def enabled(self) -> bool:
        return self._idle_s > 0

    async def unload_idle(self) -> list[str]:
        if not self.enabled:
            return []
        names = await asyncio.to_thread(self._engines.unload_idle, self._idle_s)
        if names:
            log.info("unloaded idle engine(s): %s", ", ".join(names))
        return names

    def start(self) -> None:
        if self.enabled:
            self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
