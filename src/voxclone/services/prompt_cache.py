"""Voice prompts kept in memory, so a synthesis does not read the same prompt from the database
every time (one query fewer on the hot path, which matters most in front of a fast provider).

An entry is keyed by the voice's id *and its ``updated_at``*, the engine's name and version.
Whatever changes a voice's prompts (a new reference clip, a fit) also updates the voice row, and
a new engine version is a new key, so a stale entry is never found, on this host or after
another host changed the voice; it just ages out. The cache is bounded by entries and by an
estimate of its size in bytes (a GPT-SoVITS prompt carries its clip).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

from voxclone.engines.base import VoicePrompt

Key = tuple[str, datetime, str, str]
"""A stored voice's: its id, ``updated_at``, the engine's name and version."""
K = TypeVar("K", bound=Hashable)


def approx_size(value: Any, depth: int = 0) -> int:
    """Roughly how many bytes ``value`` takes as JSON (strings and containers dominate)."""
    if isinstance(value, str | bytes):
        return len(value) + 2
    if depth > 8:
        return 64
    if isinstance(value, dict):
        return sum(len(str(k)) + approx_size(v, depth + 1) for k, v in value.items()) + 2
    if isinstance(value, list | tuple):
        return sum(approx_size(v, depth + 1) for v in value) + 2
    return 8


class PromptCache(Generic[K]):
    def __init__(self, *, max_entries: int = 512, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._entries: OrderedDict[K, tuple[VoicePrompt, int]] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, key: K) -> VoicePrompt | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: K, prompt: VoicePrompt) -> None:
        size = approx_size(prompt)
        if size > self._max_bytes // 4:
            return  # one huge prompt must not flush everything else
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (prompt, size)
            self._bytes += size
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)
