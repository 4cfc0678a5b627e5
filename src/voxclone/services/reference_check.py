"""A reference clip checked as ``POST /v1/voices`` would check it, without saving a voice.

The studio shows this verdict before a person saves a voice: the clip is decoded, its length
held to ``limits.min_reference_seconds``..``max_reference_seconds``, and an engine that fits
(``local``) runs its reference checks (silence, noise, music, two speakers). An engine that
checks nothing (Piper, remote providers) would accept any clip of the right length; for it the
checks of an engine that has them are run as advice (``enforced: false``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from voxclone.audio import check_duration, decode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import AudioDurationOutOfRange, UnusableReference, VoxcloneError
from voxclone.engines.registry import EngineRegistry
from voxclone.services.voices import check_language


@dataclass(frozen=True, slots=True)
class ReferenceVerdict:
    usable: bool
    backend: str
    enforced: bool
    """True when ``POST /v1/voices`` on ``backend`` refuses what ``usable: false`` says."""
    checked_by: str | None
    format: str
    duration_s: float
    sample_rate: int
    checks: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    message: str | None = None
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _refusal(error: VoxcloneError) -> dict[str, Any]:
    details = dict(error.details)
    return {
        "usable": False,
        "error": error.code,
        "message": error.message,
        "problem": details.get("problem"),
        "details": details,
    }


async def check_reference_clip(
    *,
    engines: EngineRegistry,
    limits: LimitSettings,
    audio: bytes,
    backend: str,
    lang: str = "en",
) -> ReferenceVerdict:
    """The verdict on ``audio`` as a reference for ``backend``. Audio that cannot be decoded,
    or an unknown backend or language, raises as creating the voice would."""
    engine = engines.get_tts(backend)
    check_language(engine, lang)
    decoded = decode_audio(audio, max_seconds=limits.max_reference_seconds)
    base: dict[str, Any] = {
        "backend": backend,
        "format": decoded.format,
        "duration_s": round(decoded.audio.duration_s, 3),
        "sample_rate": decoded.sample_rate,
    }
    try:
        check_duration(
            decoded.audio,
            min_s=limits.min_reference_seconds,
            max_s=limits.max_reference_seconds,
        )
    except AudioDurationOutOfRange as error:
        return ReferenceVerdict(enforced=True, checked_by=None, **base, **_refusal(error))
    enforced = bool(engine.capabilities().fitting)
    checker_name: str | None = backend if enforced else None
    if checker_name is None:  # advice from an engine that checks references, if one is here
        for name in engines.names("tts"):
            if name == backend or engines.spec(name).remote:
                continue
            candidate = engines.get_tts(name)
            if getattr(candidate, "check_reference", None) and candidate.capabilities().fitting:
                checker_name = name
                break
    if checker_name is None:
        return ReferenceVerdict(usable=True, enforced=False, checked_by=None, **base)
    check = engines.get_tts(checker_name).check_reference  # type: ignore[attr-defined]
    try:
        found = await asyncio.to_thread(check, decoded.audio)
    except UnusableReference as error:
        return ReferenceVerdict(
            enforced=enforced,
            checked_by=checker_name,
            checks=dict(error.details),
            **base,
            **_refusal(error),
        )
    checks = dict(found) if isinstance(found, dict) else {}
    return ReferenceVerdict(
        usable=True, enforced=enforced, checked_by=checker_name, checks=checks, **base
    )
