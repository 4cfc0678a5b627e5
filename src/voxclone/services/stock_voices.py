"""Stock voices: the built-in engines' own voices (Kokoro's 55, Piper's model voice), which
every key may speak in without uploading a clip. Read-only, never stored per key.

The catalog is built from the engine registry the first time it is asked for (reading the voice
names only: no engine is loaded) and served from memory. A stock voice's id is the engine's own
voice name (``af_heart``, ``en_US-joe-medium``), which is never a UUID; when two engines offer
the same name the first (the default backend, then the others by name) keeps it and the other
is ``engine:name``; ``engine:name`` is always accepted. OpenAI's voice names (``alloy``...) are
aliases of Kokoro voices (``OPENAI_VOICES``, docs/voices.md), and Kokoro-FastAPI's mixes
(``af_bella(2)+af_sky(1)``, ``voice_mix``) are stock voices too, resolved when named.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from voxclone.core.errors import InvalidVoiceMix, NotFound, VoxcloneError
from voxclone.engines.base import TTSEngine, VoicePrompt
from voxclone.engines.registry import EngineRegistry
from voxclone.services.stock_engines import KOKORO, EngineVoice, engine_voices
from voxclone.services.voice_mix import canonical, is_mix, normalised, parse_mix

STOCK = "stock"
CLONED = "cloned"
CATEGORIES = (CLONED, STOCK)
OPENAI_VOICES: Mapping[str, str] = MappingProxyType(
    {
        "alloy": "af_alloy",
        "ash": "am_adam",
        "ballad": "bm_george",
        "coral": "af_heart",
        "echo": "am_echo",
        "fable": "bm_fable",
        "onyx": "am_onyx",
        "nova": "af_nova",
        "sage": "af_sarah",
        "shimmer": "af_sky",
        "verse": "am_michael",
        "marin": "af_kore",
        "cedar": "am_fenrir",
    }
)
"""OpenAI's built-in voice names -> the Kokoro voice each one speaks with (docs/voices.md)."""
log = logging.getLogger(__name__)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StockVoice:
    """A stock voice; where synthesis reads a stored ``Voice`` it reads the same attributes."""

    id: str
    name: str
    backend: str
    """The engine that speaks it (``local`` for Kokoro, ``piper``)."""
    lang: str
    """The language it was made for: ``en-us``, ``en-gb``, ``es``...; Piper's primary tag."""
    kind: str
    """``kokoro`` or ``piper``: how its prompt is written."""
    gender: str | None = None
    accent: str | None = None
    blend: Mapping[str, float] = field(default_factory=dict)
    """Kokoro: the stock packs and weights (one voice: ``{name: 1.0}``); Piper: empty."""
    aliases: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    category = STOCK
    key_id = None
    status = "ready"
    progress = 1.0
    error = None
    family = None
    ref_text = None

    @property
    def meta(self) -> Mapping[str, Any]:
        return _EMPTY

    @property
    def updated_at(self) -> datetime:
        return self.created_at

    @property
    def is_mix(self) -> bool:
        return len(self.blend) > 1

    @property
    def labels(self) -> dict[str, str]:
        found = {
            "gender": self.gender,
            "accent": self.accent,
            "language": self.lang,
            "engine": self.kind,
            "openai_voice": ", ".join(self.aliases),
        }
        return {k: v for k, v in found.items() if v}

    @property
    def tags(self) -> list[str]:
        return [STOCK, self.kind, *(["mix"] if self.is_mix else [])]

    @property
    def description(self) -> str:
        if self.is_mix:
            parts = ", ".join(f"{name} {weight:g}" for name, weight in self.blend.items())
            return f"A mix of {self.kind} stock voices ({parts})."
        who = " ".join(x for x in (self.accent, self.gender) if x)
        also = f"; OpenAI's {', '.join(self.aliases)}" if self.aliases else ""
        return f"A stock {self.kind} voice{': ' + who if who else ''} ({self.lang}){also}."

    def prompt_for(self, engine: TTSEngine) -> VoicePrompt:
        """The engine's prompt: the recipe on its own engine; on another (a fallback serving
        while the voice's engine is down) an empty prompt, that engine's default voice."""
        if engine.name != self.backend:
            return {}
        if self.kind == KOKORO:
            return {"kind": "kokoro", "version": 1, "blend": dict(self.blend)}
        return {"engine": "piper", "voice": self.name}


class StockVoices:
    """The catalog of stock voices (every key's): listed, found by id, alias or mix."""

    def __init__(self, engines: EngineRegistry, *, default_backend: str) -> None:
        self._engines = engines
        self._default_backend = default_backend
        self._lock = threading.Lock()
        self._voices: list[StockVoice] | None = None
        self._index: dict[str, StockVoice] = {}

    def list(self) -> list[StockVoice]:
        """Every engine's stock voices (no mixes), the default backend's first."""
        return list(self._catalog())

    def find(self, ref: str) -> StockVoice | None:
        """The stock voice ``ref`` names (id, ``engine:name``, OpenAI name or mix; any case),
        or None. A mix naming an unknown voice raises ``NotFound``, a malformed one
        ``InvalidVoiceMix``."""
        ref = ref.strip()
        if not ref:
            return None
        self._catalog()
        found = self._index.get(ref.casefold())
        if found is not None or not is_mix(ref):
            return found
        return self._mix(ref)

    def get(self, ref: str) -> StockVoice:
        found = self.find(ref)
        if found is None:
            raise NotFound(f"stock voice {ref.strip()!r} not found", voice=ref.strip())
        return found

    def is_stock(self, ref: str) -> bool:
        """Whether ``ref`` is written as a stock voice (a known name, or any mix expression)."""
        try:
            return self.find(ref) is not None
        except VoxcloneError:
            return True

    def _mix(self, ref: str) -> StockVoice:
        weights: dict[str, float] = {}
        parts: list[StockVoice] = []
        for name, weight in parse_mix(ref).items():
            part = self._index.get(name.casefold())
            if part is None:
                raise NotFound(
                    f"voice mix {ref!r} names {name!r}, which is not a stock voice "
                    "(GET /v1/voices?category=stock lists them)",
                    voice=ref,
                    component=name,
                )
            if part.kind != KOKORO:
                raise InvalidVoiceMix(
                    f"voice mix {ref!r}: {part.id!r} is a {part.kind} voice; only Kokoro "
                    "voices can be mixed",
                    voice=ref,
                    component=name,
                )
            for pack, share in part.blend.items():
                weights[pack] = weights.get(pack, 0.0) + weight * share
            parts.append(part)
        if len({p.backend for p in parts}) > 1:
            raise InvalidVoiceMix(
                f"voice mix {ref!r} mixes voices of different engines "
                f"({', '.join(sorted({p.backend for p in parts}))})",
                voice=ref,
            )
        blend = normalised(weights)
        if len(blend) == 1:
            return self._index[parts[0].id.casefold()]
        first = max(parts, key=lambda p: weights.get(p.name, 0.0))
        mix_id = canonical(blend)
        if parts[0].id != parts[0].name:  # the engine's voices go by engine:name
            mix_id = f"{parts[0].backend}:{mix_id}"
        return StockVoice(
            id=mix_id,
            name=canonical(blend),
            backend=parts[0].backend,
            lang=first.lang,
            kind=KOKORO,
            blend=MappingProxyType(blend),
            created_at=first.created_at,
        )

    def _catalog(self) -> builtins.list[StockVoice]:
        with self._lock:
            if self._voices is None:
                self._voices = list(self._build())
                self._index = _index(self._voices)
            return self._voices

    def _build(self) -> Iterator[StockVoice]:
        names = self._engines.names("tts")
        order = sorted(names, key=lambda n: (n != self._default_backend, n))
        taken: set[str] = set()
        started = datetime.now(UTC)
        aliases: dict[str, list[str]] = {}
        for alias, target in OPENAI_VOICES.items():
            aliases.setdefault(target, []).append(alias)
        for backend in order:
            for voice in engine_voices(self._engines.spec(backend)):
                bare = voice.name.casefold() not in taken
                taken.add(voice.name.casefold())
                yield _stock(voice, backend, bare=bare, started=started, aliases=aliases)


def _stock(
    voice: EngineVoice,
    backend: str,
    *,
    bare: bool,
    started: datetime,
    aliases: dict[str, list[str]],
) -> StockVoice:
    kokoro = voice.kind == KOKORO
    return StockVoice(
        id=voice.name if bare else f"{backend}:{voice.name}",
        name=voice.name,
        backend=backend,
        lang=voice.lang,
        kind=voice.kind,
        gender=voice.gender,
        accent=voice.accent,
        blend=MappingProxyType({voice.name: 1.0} if kokoro else {}),
        aliases=tuple(aliases.get(voice.name, ())) if kokoro and bare else (),
        created_at=started,
    )


def _index(voices: list[StockVoice]) -> dict[str, StockVoice]:
    """Lower-cased id, ``engine:name`` and OpenAI alias -> voice (the first owner wins)."""
    index: dict[str, StockVoice] = {}
    for voice in voices:
        for key in (voice.id, f"{voice.backend}:{voice.name}", *voice.aliases):
            index.setdefault(key.casefold(), voice)
    return index
