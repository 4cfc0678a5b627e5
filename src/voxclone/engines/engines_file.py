"""Every engine this installation has: the built-in ones, the remote modes, the engines file.

The engines file (``VOXCLONE_ENGINES_FILE``) is TOML with one ``[[engines]]`` table per engine:

```toml
[[engines]]
name = "qwen"                          # how requests and voices name it
type = "provider"                      # provider | gpt-sovits | openai | callback | python
kind = "tts"                           # tts | stt | denoise | embed (see REMOTE_TARGETS)
urls = ["http://10.0.0.5:8000", { url = "http://10.0.0.6:8000", weight = 2 }]
api_key = "..."                        # X-API-Key (provider, gpt-sovits) or Bearer (openai)
timeout_s = 120                        # and any other RemoteSettings field, for this engine
fallback = "piper"                     # serves requests when every URL is down
options = { model = "Qwen3-TTS-12Hz-1.7B-Base", languages = ["en", "zh"] }

[[engines]]
name = "fake"
type = "python"                        # any class behind the engine protocols
target = "voxclone.engines.fake:FakeEngine"
options = { delay_s = 0.05 }
```

``provider`` serves every kind (``voxclone provider serve`` with a denoise or embed engine adds
``/v1/denoise`` and ``/v1/embed``), ``openai`` tts and stt, ``gpt-sovits`` and ``callback``
(serverless workers that call back, jobs only) tts; a ``python``
entry may be of any kind. A remote denoiser works on whole clips (live streams need a local one).

An entry with the name of a built-in engine replaces it (``name = "deepfilternet"`` with
``type = "provider"`` and ``kind = "denoise"`` sends the denoise endpoints' work to the
provider). ``options`` go to the engine's constructor as keyword arguments (see each engine's
class for what it takes).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voxclone.config import RemoteSettings, Settings
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineSpec

REMOTE_TARGETS: dict[tuple[str, str], str] = {
    ("provider", "tts"): "voxclone.engines.remote.provider:ProviderEngine",
    ("provider", "stt"): "voxclone.engines.remote.provider:ProviderTranscriber",
    ("provider", "denoise"): "voxclone.engines.remote.provider:ProviderDenoiser",
    ("provider", "embed"): "voxclone.engines.remote.provider:ProviderEmbedder",
    ("gpt-sovits", "tts"): "voxclone.engines.remote.gpt_sovits:GPTSoVITSEngine",
    ("callback", "tts"): "voxclone.engines.remote.callback:CallbackEngine",
    ("openai", "tts"): "voxclone.engines.remote.openai:OpenAISpeechEngine",
    ("openai", "stt"): "voxclone.engines.remote.openai:OpenAITranscriber",
}
OPENAI_URL = "https://api.openai.com"
MAX_FALLBACK_CHAIN = 8


class EnginesFileError(ValueError):
    """The engines file cannot be read, or declares something impossible."""


class UrlEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    weight: float = Field(1.0, gt=0)


class EngineEntry(BaseModel):
    """One ``[[engines]]`` table."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
    type: Literal["provider", "gpt-sovits", "openai", "callback", "python"]
    kind: Literal["tts", "stt", "denoise", "embed"] = "tts"
    urls: list[str | UrlEntry] = Field(default_factory=list)
    api_key: str | None = None
    fallback: str | None = None
    target: str | None = Field(None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    options: dict[str, Any] = Field(default_factory=dict)
    # RemoteSettings, per engine
    timeout_s: float | None = Field(None, gt=0)
    connect_timeout_s: float | None = Field(None, gt=0)
    health_timeout_s: float | None = Field(None, gt=0)
    health_interval_s: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0)
    backoff_s: float | None = Field(None, ge=0)
    max_backoff_s: float | None = Field(None, ge=0)
    eject_after: int | None = Field(None, ge=1)
    eject_s: float | None = Field(None, ge=0)
    retry_timeouts: bool | None = None
    allow_loopback_urls: bool | None = None
    allow_private_urls: bool | None = None
    max_connections: int | None = Field(None, ge=1)


class EnginesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engines: list[EngineEntry] = Field(default_factory=list)


def engine_specs(settings: Settings) -> list[EngineSpec]:
    """Built-in engines, then those of TTS_MODE/WHISPER_MODE, then the engines file's.

    A later entry with the same name replaces an earlier one. Fallbacks are checked: they must
    name a known engine of the same kind, and never lead back to where they started.
    """
    specs: dict[str, EngineSpec] = {s.name: s for s in builtin_specs(settings)}
    for spec in mode_specs(settings):
        specs[spec.name] = spec
    if settings.engines_file is not None:
        for spec in load_engines_file(settings.engines_file, settings.remote):
            specs[spec.name] = spec
    check_fallbacks(specs, source=str(settings.engines_file or "settings"))
    return list(specs.values())


def mode_specs(settings: Settings) -> list[EngineSpec]:
    """The engines voicebox's variables ask for: ``remote`` (TTS) and ``whisper`` (STT)."""
    policy = remote_policy(settings.remote)
    specs = []
    if settings.tts_mode == "remote" and settings.tts_remote_url:
        key = settings.tts_api_key.get_secret_value() if settings.tts_api_key else None
        specs.append(
            remote_spec(
                "remote", "provider", "tts", _split(settings.tts_remote_url), key, policy, {}
            )
        )
    if settings.whisper_mode == "remote" and settings.whisper_remote_url:
        specs.append(
            remote_spec(
                "whisper", "provider", "stt", _split(settings.whisper_remote_url), None, policy, {}
            )
        )
    elif settings.whisper_mode == "openai-api":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        urls = _split(settings.whisper_remote_url) if settings.whisper_remote_url else [OPENAI_URL]
        specs.append(remote_spec("whisper", "openai", "stt", urls, key, policy, {}))
    return specs


def load_engines_file(path: Path, defaults: RemoteSettings) -> list[EngineSpec]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EnginesFileError(f"cannot read the engines file {str(path)!r}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise EnginesFileError(f"the engines file {str(path)!r} is not TOML: {exc}") from exc
    try:
        parsed = EnginesFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise EnginesFileError(f"the engines file {str(path)!r} is invalid: {problems}") from None
    names = [e.name for e in parsed.engines]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise EnginesFileError(f"the engines file {str(path)!r} declares {duplicates} twice")
    return [_entry_spec(entry, defaults, path) for entry in parsed.engines]


def _entry_spec(entry: EngineEntry, defaults: RemoteSettings, path: Path) -> EngineSpec:
    where = f"engine {entry.name!r} in {str(path)!r}"
    if entry.type == "python":
        if entry.target is None:
            raise EnginesFileError(f"{where}: type 'python' needs target = 'module:Class'")
        if entry.urls or entry.api_key:
            raise EnginesFileError(f"{where}: type 'python' takes no urls or api_key")
        return EngineSpec(
            name=entry.name,
            target=entry.target,
            kind=entry.kind,
            options=dict(entry.options),
            fallback=entry.fallback,
        )
    if entry.target is not None:
        raise EnginesFileError(f"{where}: target is only for type 'python'")
    if (entry.type, entry.kind) not in REMOTE_TARGETS:
        kinds = ", ".join(k for t, k in REMOTE_TARGETS if t == entry.type)
        raise EnginesFileError(
            f"{where}: type {entry.type!r} has no {entry.kind} engine; it serves {kinds}"
        )
    urls: list[str | dict[str, Any]] = [
        u if isinstance(u, str) else u.model_dump() for u in entry.urls
    ]
    if not urls and entry.type == "openai":
        urls = [OPENAI_URL]
    if not urls:
        raise EnginesFileError(f"{where}: a {entry.type} engine needs urls")
    overrides = {
        name: value
        for name in RemoteSettings.model_fields
        if (value := getattr(entry, name, None)) is not None
    }
    policy = {**remote_policy(defaults), **overrides}
    for reserved in ("urls", "api_key", "policy"):
        if reserved in entry.options:
            raise EnginesFileError(f"{where}: write {reserved} beside options, not inside it")
    return remote_spec(
        entry.name,
        entry.type,
        entry.kind,
        urls,
        entry.api_key,
        policy,
        entry.options,
        fallback=entry.fallback,
    )


def remote_policy(defaults: RemoteSettings) -> dict[str, Any]:
    return defaults.model_dump()


def remote_spec(
    name: str,
    type_: str,
    kind: str,
    urls: list[str | dict[str, Any]] | list[str],
    api_key: str | None,
    policy: dict[str, Any],
    options: dict[str, Any],
    *,
    fallback: str | None = None,
) -> EngineSpec:
    return EngineSpec(
        name=name,
        target=REMOTE_TARGETS[(type_, kind)],
        kind=kind,
        options={"urls": list(urls), "api_key": api_key, "policy": dict(policy), **options},
        fallback=fallback,
        remote=True,
    )


def check_fallbacks(specs: dict[str, EngineSpec], *, source: str) -> None:
    for spec in specs.values():
        seen = [spec.name]
        current = spec
        while current.fallback is not None:
            target = specs.get(current.fallback)
            if target is None:
                raise EnginesFileError(
                    f"engine {current.name!r} ({source}) falls back to {current.fallback!r}, "
                    f"which is not an engine; known: {', '.join(sorted(specs))}"
                )
            if target.kind != current.kind:
                raise EnginesFileError(
                    f"engine {current.name!r} ({source}) is {current.kind} but its fallback "
                    f"{target.name!r} is {target.kind}"
                )
            if target.name in seen or len(seen) > MAX_FALLBACK_CHAIN:
                chain = " -> ".join([*seen, target.name])
                raise EnginesFileError(f"engine fallbacks go round in a circle: {chain}")
            seen.append(target.name)
            current = target


def _split(urls: str) -> list[str]:
    return [u.strip() for u in urls.split(",") if u.strip()]
