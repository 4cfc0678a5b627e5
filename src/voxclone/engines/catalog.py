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
        "int8_convs": settings.kokoro.int8_convs,
        "fused_ops": settings.kokoro.fused_ops,
    }
    return [
        EngineSpec(name="piper", target="voxclone.engines.piper:PiperEngine", options=piper),
        EngineSpec(name="local", target="voxclone.engines.kokoro:KokoroEngine", options=kokoro),
        EngineSpec(
            name="whisper",
            target="voxclone.engines.whisper:WhisperEngine",
            kind="stt",
            options={**settings.whisper.model_dump(), "data_dir": settings.data_dir},
        ),
        EngineSpec(
            name="resemblyzer", target="voxclone.engines.speaker:ResemblyzerEmbedder", kind="embed"
        ),
        EngineSpec(
            name="deepfilternet",
            target="voxclone.engines.deepfilter:DeepFilterEngine",
            kind="denoise",
            options=settings.deepfilter.model_dump(
                include={"library_path", "model_path", "atten_lim_db", "post_filter_beta"}
            ),
        ),
    ]
