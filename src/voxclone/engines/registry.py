"""Engines by name, imported and loaded only when first used.

A registry entry maps a name to ``"module:Class"`` and constructor options. Nothing is imported
until ``get`` is called, so a missing optional package only matters to the engine that needs it.
Loaded engines are kept until ``close``, or until ``unload_idle`` drops local ones nothing has
asked for lately; this registry is the one place that loads and unloads them.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from voxclone.core.errors import EngineUnavailable, UnknownBackend
from voxclone.engines.base import (
    Denoiser,
    Embedder,
    EngineHealth,
    RemoteEngine,
    STTEngine,
    TTSEngine,
)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    name: str
    target: str
    """``"package.module:Class"``; the class is called with ``name=`` and ``**options``."""
    kind: str = "tts"
    options: dict[str, Any] = field(default_factory=dict)
    fallback: str | None = None
    """The engine that serves a request when this one is down (remote engines: every URL)."""
    remote: bool = False
    """Served over HTTP: cheap to load (no model), so health checks always look at it."""


class EngineRegistry:
    def __init__(self, specs: list[EngineSpec] | None = None) -> None:
        self._specs: dict[str, EngineSpec] = {}
        self._loaded: dict[str, Any] = {}
        self._failures: dict[str, str] = {}
        self._last_used: dict[str, float] = {}
        self._idle_unloaded: set[str] = set()
        self._lock = threading.Lock()
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: EngineSpec) -> None:
        self._specs[spec.name] = spec
        self._loaded.pop(spec.name, None)
        self._failures.pop(spec.name, None)

    def names(self, kind: str | None = None) -> list[str]:
        return sorted(n for n, s in self._specs.items() if kind is None or s.kind == kind)

    def spec(self, name: str, kind: str | None = None) -> EngineSpec:
        """The spec called ``name``; an unknown name's error lists the known engines of ``kind``
        (every kind when None)."""
        try:
            return self._specs[name]
        except KeyError:
            known = self.names(kind)
            raise UnknownBackend(
                f"unknown backend {name!r}; known backends: {', '.join(known) or 'none'}",
                backend=name,
                known=known,
            ) from None

    def get(self, name: str) -> Any:
        """The loaded engine called ``name``, loading it on first use."""
        return self._get(name, use=True)

    def _get(self, name: str, *, use: bool) -> Any:
        """``use``: a request's use, which restarts the engine's idle clock (a health check's
        does not, so polling /health never keeps an idle engine loaded)."""
        spec = self.spec(name)
        with self._lock:
            engine = self._loaded.get(name)
            if engine is None:
                engine = self._load(spec)
                self._loaded[name] = engine
                self._idle_unloaded.discard(name)
                use = True
            if use:
                self._last_used[name] = time.monotonic()
            return engine

    def get_tts(self, name: str) -> TTSEngine:
        spec = self.spec(name, "tts")
        if spec.kind != "tts":
            raise UnknownBackend(
                f"backend {name!r} is a {spec.kind} engine, not a text-to-speech engine",
                backend=name,
                known=self.names("tts"),
            )
        engine: TTSEngine = self.get(name)
        return engine

    def get_stt(self, name: str) -> STTEngine:
        spec = self.spec(name, "stt")
        if spec.kind != "stt":
            raise UnknownBackend(
                f"backend {name!r} is a {spec.kind} engine, not a speech-to-text engine",
                backend=name,
                known=self.names("stt"),
            )
        engine: STTEngine = self.get(name)
        return engine

    def get_embedder(self, name: str) -> Embedder:
        spec = self.spec(name, "embed")
        if spec.kind != "embed":
            raise UnknownBackend(
                f"backend {name!r} is a {spec.kind} engine, not a speaker-embedding engine",
                backend=name,
                known=self.names("embed"),
            )
        embedder: Embedder = self.get(name)
        return embedder

    def get_denoiser(self, name: str) -> Denoiser:
        spec = self.spec(name, "denoise")
        if spec.kind != "denoise":
            raise UnknownBackend(
                f"backend {name!r} is a {spec.kind} engine, not a noise-suppression engine",
                backend=name,
                known=self.names("denoise"),
            )
        denoiser: Denoiser = self.get(name)
        return denoiser

    def fallback(self, name: str) -> str | None:
        """The engine named as ``name``'s fallback, if any."""
        return self.spec(name).fallback

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def loaded(self, name: str) -> Any | None:
        """The engine called ``name`` if it is loaded; never loads it, nor waits for a load."""
        return self._loaded.get(name)

    def failure(self, name: str) -> str | None:
        """Why ``name`` failed to load, if it was tried and failed."""
        return self._failures.get(name)

    def health(self, name: str) -> EngineHealth:
        """Whether ``name`` can work here; loads it if it has not been loaded yet.

        A remote engine is asked too: it probes URLs it has not probed lately (network I/O,
        bounded by its health timeout), so call this off the event loop for remote engines.
        """
        if name in self._idle_unloaded and name not in self._loaded:
            return EngineHealth(available=True, detail="unloaded while idle; loads on next use")
        try:
            engine = self._get(name, use=False)
        except EngineUnavailable as exc:
            return EngineHealth(available=False, detail=exc.message)
        if isinstance(engine, RemoteEngine):
            return engine.health()
        return EngineHealth(available=True)

    def unload_idle(self, idle_s: float, *, now: float | None = None) -> list[str]:
        """Drop the local engines nobody has asked for in ``idle_s`` seconds; the next ``get``
        loads them again. Remote engines stay (they hold no model). An unloaded engine is not
        closed: a call that already holds it finishes, and its memory goes with the last
        reference. Returns the names unloaded."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [
                name
                for name in self._loaded
                if not self._specs[name].remote and now - self._last_used.get(name, now) >= idle_s
            ]
            for name in idle:
                del self._loaded[name]
                self._last_used.pop(name, None)
                self._idle_unloaded.add(name)
        return idle

    def close(self) -> None:
        with self._lock:
            for engine in self._loaded.values():
                close = getattr(engine, "close", None)
                if close is not None:
                    close()
            self._loaded.clear()

    def _load(self, spec: EngineSpec) -> Any:
        if spec.name in self._failures:
            raise EngineUnavailable(self._failures[spec.name], backend=spec.name)
        module_name, _, class_name = spec.target.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as exc:
            message = f"engine {spec.name!r} cannot be imported from {spec.target!r}: {exc}"
            self._failures[spec.name] = message
            raise EngineUnavailable(message, backend=spec.name) from exc
        try:
            return cls(name=spec.name, **spec.options)
        except EngineUnavailable as exc:
            self._failures[spec.name] = exc.message
            raise
