"""The audio watermark: "did this deployment make this file, and which item is it?" for any
copy, re-encoded or trimmed (docs/watermark.md). Mounted only when ``watermark.enabled``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from voxclone.api.deps import AnyKey, ServicesDep
from voxclone.api.uploads import read_form, read_upload
from voxclone.api.watermark_schemas import DetectResult, detect_result, request_urls
from voxclone.core.errors import AudioTooLarge, MissingField
from voxclone.services.watermark import WatermarkService

router = APIRouter(tags=["watermark"])


def _service(services: ServicesDep) -> WatermarkService:
    assert services.watermark is not None  # the router is mounted only when it is on
    return services.watermark


@router.post("/v1/watermark/detect", response_model=DetectResult)
async def detect(request: Request, services: ServicesDep, user: AnyKey) -> DetectResult:
    """Multipart ``file``: look for this deployment's watermark in any copy of generated audio
    (MP3 or Opus re-encoded, resampled, louder or softer, trimmed). The history item only for
    the caller's own items (or the admin)."""
    limits = services.settings.limits
    form = await read_form(
        request,
        max_file_bytes=limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field="file",
    )
    try:
        audio = await read_upload(form, "file")
    finally:
        await form.close()
    if not audio:
        raise MissingField("file is required: the audio to check", field="file")
    verdict = await _service(services).detect(
        caller=user, data=audio, max_seconds=limits.max_speech_audio_s
    )
    return detect_result(verdict, urls=request_urls(request))
