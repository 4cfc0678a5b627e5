"""The GPT-SoVITS proxy API: one-shot cloning from a reference clip, ``X-API-Key`` auth.

Its document answers every invalid input with 400 (see ``api.errors``), a provider timeout with
504 and a provider error with 502.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from voxclone.api.audio import audio_response
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, text_field, upload_or_url
from voxclone.core.errors import AudioTooLarge, InvalidInput, MissingField

router = APIRouter(prefix="/api/v1/voice", tags=["gpt-sovits proxy"])

LANGUAGES = ("auto", "zh", "en", "ja")


def _float(value: str | None, *, field: str, default: float, low: float, high: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a number, got {value!r}", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be between {low} and {high}, got {number}", field=field)
    return number


@router.post("/synthesize", responses={200: {"content": {"audio/wav": {}}}})
async def synthesize(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """Multipart: text (1–5000 chars), reference_audio (≤ 10 MB) or reference_audio_url,
    language, speed, temperature."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_oneshot_reference_bytes,
        too_large=AudioTooLarge,
        field="reference_audio",
    )
    try:
        text = text_field(form, "text")
        reference = await upload_or_url(
            form,
            fetcher=services.fetcher,
            file_field="reference_audio",
            url_field="reference_audio_url",
            max_bytes=services.settings.limits.max_oneshot_reference_bytes,
        )
        if reference is None:
            raise MissingField(
                "reference_audio (or reference_audio_url) is required", field="reference_audio"
            )
        language = text_field(form, "language") or "auto"
        if language not in LANGUAGES:
            raise InvalidInput(
                f"language must be one of {', '.join(LANGUAGES)}, got {language!r}",
                field="language",
            )
        result = await services.oneshot.synthesize(
            caller=user,
            text=text or "",
            reference=reference,
            language=language,
            speed=_float(text_field(form, "speed"), field="speed", default=1.0, low=0.5, high=2.0),
            temperature=_float(
                text_field(form, "temperature"), field="temperature", default=0.7, low=0.1, high=1.0
            ),
        )
    finally:
        await form.close()
    response = audio_response(result.audio, filename="synthesized")
    response.headers["X-Voice-Prompt"] = result.prompt
    return response


@router.get("/health")
async def voice_health(services: ServicesDep, _user: UserKey) -> dict[str, object]:
    backend = services.settings.default_backend
    state = await asyncio.to_thread(services.engines.health, backend)  # may probe a provider
    return {
        "status": "healthy" if state.available else "unhealthy",
        "backend": backend,
        "available": state.available,
        "detail": state.detail,
    }
