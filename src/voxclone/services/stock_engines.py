"""The voices a built-in engine ships with, read from its files without loading the engine.

Kokoro (``voxclone.engines.kokoro:KokoroEngine``): the names in its voices file, whose first two
letters say the language and gender (``af_heart``: American English, female). Piper
(``voxclone.engines.piper:PiperEngine``): the one voice of its model, in its config's language.
Other engines have no stock voices; an engine whose files are missing has none either (its
voices appear once it is installed and the server restarted).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxclone.core.errors import EngineUnavailable
from voxclone.engines.registry import EngineSpec

KOKORO = "kokoro"
PIPER = "piper"
KOKORO_TARGET = "voxclone.engines.kokoro:KokoroEngine"
PIPER_TARGET = "voxclone.engines.piper:PiperEngine"
KOKORO_LANGUAGES = {
    "a": ("en-us", "american"),
    "b": ("en-gb", "british"),
    "e": ("es", "spanish"),
    "f": ("fr", "french"),
    "h": ("hi", "indian"),
    "i": ("it", "italian"),
    "j": ("ja", "japanese"),
    "p": ("pt-br", "brazilian"),
    "z": ("zh", "chinese"),
}
"""A Kokoro voice name's first letter -> (its language tag, its accent)."""
GENDERS = {"f": "female", "m": "male"}
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineVoice:
    name: str
    kind: str
    lang: str
    gender: str | None = None
    accent: str | None = None


def engine_voices(spec: EngineSpec) -> list[EngineVoice]:
    """The stock voices of the engine ``spec`` describes (none for other engines)."""
    if spec.kind != "tts":
        return []
    try:
        if spec.target == KOKORO_TARGET:
            return kokoro_voices(spec)
        if spec.target == PIPER_TARGET:
            return piper_voices(spec)
    except (EngineUnavailable, OSError, ValueError) as exc:
        log.info("engine %s lists no stock voices: %s", spec.name, exc)
    return []


def kokoro_voices(spec: EngineSpec) -> list[EngineVoice]:
    from voxclone.engines.kokoro_assets import default_shared_models_dir, resolve_voices

    options = spec.options
    shared = options.get("shared_models_dir")
    voices_path = options.get("voices_path")
    path = resolve_voices(
        Path(voices_path) if voices_path else None,
        Path(options.get("data_dir") or "./data"),
        Path(shared) if shared else default_shared_models_dir(),
    )
    with np.load(path) as archive:
        names = sorted(archive.files)
    return [_kokoro_voice(name) for name in names]


def piper_voices(spec: EngineSpec) -> list[EngineVoice]:
    from voxclone.engines.piper import _primary_language, _voice_files

    model, config = _voice_files(spec.options.get("model_path"), spec.options.get("config_path"))
    settings = json.loads(config.read_text(encoding="utf-8"))
    espeak = str((settings.get("espeak") or {}).get("voice") or "en")
    return [
        EngineVoice(
            name=model.name.removesuffix(".onnx"), kind=PIPER, lang=_primary_language(espeak)
        )
    ]


def _kokoro_voice(name: str) -> EngineVoice:
    lang, accent = KOKORO_LANGUAGES.get(name[:1], ("en-us", None))
    gender = GENDERS.get(name[1:2]) if name[2:3] == "_" else None
    return EngineVoice(name=name, kind=KOKORO, lang=lang, gender=gender, accent=accent)
