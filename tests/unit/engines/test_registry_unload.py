"""Idle unload: the registry drops local engines nobody asked for lately; the next ``get`` loads
them again, and a caller that still holds the old engine can go on using it."""

from __future__ import annotations

import time

from voxclone.engines.fake import FakeEngine
from voxclone.engines.registry import EngineRegistry, EngineSpec

FAKE = "voxclone.engines.fake:FakeEngine"


def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("a", FAKE),
            EngineSpec("b", FAKE),
            EngineSpec("far", FAKE, remote=True),
        ]
    )


def test_idle_local_engines_are_unloaded_and_reload_on_next_use() -> None:
    engines = registry()
    first = engines.get("a")
    engines.get("far")
    later = time.monotonic() + 100
    assert engines.unload_idle(50, now=later) == ["a"]
    assert not engines.is_loaded("a")
    assert engines.is_loaded("far"), "remote engines hold no model and stay"
    again = engines.get("a")
    assert isinstance(again, FakeEngine)
    assert again is not first
    assert engines.is_loaded("a")


def test_recently_used_engines_stay() -> None:
    engines = registry()
    engines.get("a")
    engines.get("b")
    now = time.monotonic()
    assert engines.unload_idle(50, now=now + 10) == []
    assert engines.is_loaded("a")
    assert engines.is_loaded("b")


def test_each_use_restarts_the_idle_clock() -> None:
    engines = registry()
    engines.get("a")
    engines.get("b")
    time.sleep(0.02)
    mid = time.monotonic()
    engines.get("b")
    # At mid + 10 ms, "a" has been idle for at least 30 ms and "b" for at most 10 ms.
    assert engines.unload_idle(0.015, now=mid + 0.01) == ["a"]
    assert engines.is_loaded("b")


def test_an_engine_held_during_unload_keeps_working() -> None:
    engines = registry()
    held = engines.get("a")
    engines.unload_idle(0, now=time.monotonic() + 1)
    assert not engines.is_loaded("a")
    assert held.sample_rate > 0  # not closed: an in-flight call that holds it finishes


def test_health_checks_neither_keep_an_engine_loaded_nor_reload_it() -> None:
    engines = registry()
    engines.get("a")
    used = time.monotonic()
    assert engines.health("a").available  # a check is not a use: the idle clock runs on
    assert engines.unload_idle(50, now=used + 60) == ["a"]
    health = engines.health("a")
    assert health.available
    assert "idle" in health.detail
    assert not engines.is_loaded("a"), "a health check does not load it again"
    engines.get("a")
    assert engines.is_loaded("a")
