"""The engines voxclone ships with, as registry entries built from settings."""

from __future__ import annotations

from typing import Any

from voxclone.config import Settings
from voxclone.engines.registry import EngineSpec


def builtin_specs(settings: Settings) -> list[EngineSpec]:
    piper: dict[str, Any] = {"threads": settings.piper.threads}
    if settings.piper.model_path is not None:
        piper["model_path"] = settings.piper.model_path
    if settings.piper.config_path is not None:
        piper["config_path"] = settings.piper.config_path
    kokoro: dict[str, Any] = {
        "data_dir": settings.data_dir,
        "threads": settings.kokoro.threads,
        "default_voice": settings.kokoro.default_voice,
        "model_path": settings.kokoro.model_path,
        "voices_path": settings.kokoro.voices_path,
        "shared_models_dir": settings.kokoro.shared_models_dir,
    }
    return [
        EngineSpec(name="piper", target="voxclone.engines.piper:PiperEngine", options=piper),
        EngineSpec(name="local", target="voxclone.engines.kokoro:KokoroEngine", options=kokoro),
    ]
