"""Route: which engine serves a synthesis, and the fallback chain when it is down.

An engine may name a ``fallback`` (the engines file); the chain is walked in one place,
``chain``, both when an engine cannot load (``resolve``) and when it fails while serving
(``routed``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from voxclone.core.errors import (
    EngineUnavailable,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    VoxcloneError,
)
from voxclone.engines.base import TTSEngine
from voxclone.engines.registry import EngineRegistry

if TYPE_CHECKING:
    from voxclone.services.synthesis.plan import Plan

log = logging.getLogger(__name__)
T = TypeVar("T")


class Router:
    def __init__(self, *, engines: EngineRegistry) -> None:
        self._engines = engines

    def chain(self, name: str) -> Iterator[str]:
        """The fallbacks of engine ``name``, nearest first, each once (a cycle ends it)."""
        seen = {name}
        current = name
        while (current := self._engines.fallback(current) or "") and current not in seen:
            seen.add(current)
            yield current

    def resolve(self, name: str) -> TTSEngine:
        """The engine ``name``, or the first of its fallbacks that loads if it cannot load."""
        try:
            return self._engines.get_tts(name)
        except EngineUnavailable as exc:
            for fallback in self.chain(name):
                try:
                    engine = self._engines.get_tts(fallback)
                except EngineUnavailable:
                    continue
                log.warning("backend %s cannot load (%s); using %s", name, exc.message, fallback)
                return engine
            raise

    async def routed(
        self,
        plan: Plan,
        attempt: Callable[[Plan], Awaitable[T]],
        replan: Callable[[Plan, TTSEngine], Plan],
    ) -> tuple[Plan, T]:
        """``attempt`` the plan's engine; when it is down, its fallback, and so on down the chain.

        "Down" means a remote engine with no URL left that answered (``ProviderError`` other
        than a 4xx refusal, ``ProviderTimeout``) or an engine that cannot load. Returns the plan
        that served, whose engine names the backend in ``X-Backend`` and keys the cache. When
        every fallback fails too, the first engine's error is raised, listing what they said.
        """
        try:
            return plan, await attempt(plan)
        except (ProviderError, ProviderTimeout, EngineUnavailable) as exc:
            if isinstance(exc, ProviderRejected):
                raise
            failure: VoxcloneError = exc
        tried: dict[str, str] = {}
        for name in self.chain(plan.engine.name):
            try:
                fallback = replan(plan, self._engines.get_tts(name))
                log.warning(
                    "backend %s is down (%s); falling back to %s",
                    plan.engine.name,
                    failure.message,
                    name,
                )
                return fallback, await attempt(fallback)
            except VoxcloneError as exc:
                tried[name] = exc.message
        if tried:
            failure.details["fallbacks"] = tried
        raise failure
