"""Noise suppression over HTTP (``POST /v1/audio/denoise``) and WebSocket (``/ws``).

The WebSocket protocol: the client sends ``{"type": "start", "sample_rate": 48000}``, then binary
messages of Float32 little-endian mono PCM; each binary message is answered with the denoised
samples ready so far (possibly none, as binary). ``{"type": "stop"}`` flushes the tail (one last
binary message) and ends with ``{"type": "done", ...}`` and close code 1000. Anything wrong gets
``{"type": "error", "error": code, "message": ..., "details": ...}`` and a close code
(``api/ws.py``); the key comes in a header or as ``?api_key=``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, WebSocket

from voxclone.api.async_jobs import ACCEPTED, accepted, prefers_async
from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.api.ws import (
    CLOSE_NORMAL,
    authenticate_user,
    closing_on_error,
    json_text,
    parse_json,
    receive,
)
from voxclone.core.errors import (
    AudioTooLarge,
    InvalidAudio,
    InvalidInput,
    MissingField,
)
from voxclone.services.container import Services
from voxclone.services.denoise import STREAM_LATENCY_MS, DenoiseSession, StreamSummary
from voxclone.services.speech_jobs import DenoiseJob
from voxclone.services.usage import UsageRecord

router = APIRouter(prefix="/v1/audio/denoise", tags=["noise suppression"])


@router.post("", responses={200: {"content": {"audio/wav": {}}}, **ACCEPTED})
async def denoise_file(request: Request, services: ServicesDep, user: UserKey) -> Response:
    """Multipart: ``file`` (WAV, FLAC, OGG or MP3, sniffed by content), ``format`` (wav, mp3,
    flac, ogg, opus, pcm; default: the input's), ``sample_rate`` (default: the input's).
    Audio longer than ``limits.max_sync_speech_audio_s`` (or any, with ``Prefer:
    respond-async``) is denoised as a job: 202, then the audio from ``GET
    /v1/jobs/{id}/result`` (or ``/audio``); ``callback_url``, if given, is told when it ends."""
    form = await read_form(
        request,
        max_file_bytes=services.settings.limits.max_speech_upload_bytes,
        too_large=AudioTooLarge,
        field="file",
    )
    try:
        if "file" not in form:
            raise MissingField("file is required (a WAV, MP3, FLAC or OGG file)", field="file")
        data = await read_upload(form, "file")
        if data is None:
            raise InvalidAudio("file must be a file upload, not a text field", field="file")
        asked = DenoiseJob(
            format=(text_field(form, "format") or "").strip() or None,
            sample_rate=_sample_rate(text_field(form, "sample_rate")),
        )
        callback_url = text_field(form, "callback_url") or None
    finally:
        await form.close()
    assert user.key_id is not None
    too_long = await services.speech_jobs.too_long_for_sync(data) is not None
    if too_long or prefers_async(request):
        await services.admission.admit_job(user)
        job = await services.speech_jobs.submit_denoise(
            key_id=user.key_id,
            data=data,
            job=asked,
            callback_url=await services.webhooks.check_callback_url(callback_url),
        )
        return accepted(request, job)
    async with services.admission.heavy.hold(user.key_id, work="denoise"):
        result = await services.denoise.denoise_file(
            data=data, fmt=asked.format, sample_rate=asked.sample_rate
        )
    services.metrics.note_engine_call(engine=result.backend, wall_s=result.processing_ms / 1000)
    await services.recorder.record_usage(  # a denoiser keeps the length: as many seconds out as in
        UsageRecord(
            key_id=user.key_id,
            kind="denoise",
            entry="file",
            backend=result.backend,
            audio_in_s=result.duration_s,
            audio_out_s=result.duration_s,
        )
    )
    headers = {
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-Processing-Time-Ms": str(result.processing_ms),
        "X-Backend": result.backend,
        "Content-Disposition": f'attachment; filename="denoised.{result.format}"',
    }
    return Response(content=result.data, media_type=result.media_type, headers=headers)


@router.websocket("/ws")
async def denoise_stream(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    idle_s = services.settings.deepfilter.ws_idle_timeout_s
    await websocket.accept()
    session: DenoiseSession | None = None
    try:
        async with closing_on_error(websocket):
            user = await authenticate_user(websocket, services)
            message = await receive(websocket, idle_s)
            if message is None:
                return
            start = json_text(
                message,
                binary='send {"type": "start", "sample_rate": <Hz>} as a text message before '
                "any audio",
            )
            if start.get("type") != "start":
                raise InvalidInput(
                    'the first message must be {"type": "start", "sample_rate": <Hz>}',
                    received_type=start.get("type"),
                )
            session = await services.denoise.open_session(sample_rate=start.get("sample_rate"))
            await websocket.send_json(
                {
                    "type": "started",
                    "sample_rate": session.sample_rate,
                    "encoding": "float32le",
                    "latency_ms": STREAM_LATENCY_MS,
                }
            )
            assert user.key_id is not None
            await _denoise_frames(websocket, session, idle_s, services, key_id=user.key_id)
    finally:
        if session is not None:
            session.close()


async def _denoise_frames(
    websocket: WebSocket, session: DenoiseSession, idle_s: float, services: Services, *, key_id: str
) -> None:
    """Binary frames in, denoised frames out, until ``{"type": "stop"}`` or the client goes.
    A stream that ends with stop is metered once, before ``done`` is sent."""
    while True:
        message = await receive(websocket, idle_s)
        if message is None:
            return
        if message.get("bytes") is not None:
            out = await session.feed(message["bytes"])
            if out:
                await websocket.send_bytes(out)
            continue
        control = parse_json(message.get("text"))
        if control.get("type") != "stop":
            raise InvalidInput(
                'expected binary PCM frames or {"type": "stop"}',
                received_type=control.get("type"),
            )
        tail, summary = await session.finish()
        if tail:
            await websocket.send_bytes(tail)
        await _meter_stream(services, key_id=key_id, summary=summary)
        await websocket.send_json(summary.as_message())
        await websocket.close(CLOSE_NORMAL)
        return


async def _meter_stream(services: Services, *, key_id: str, summary: StreamSummary) -> None:
    await services.recorder.record_usage(
        UsageRecord(
            key_id=key_id,
            kind="denoise",
            entry="ws",
            backend=services.denoise.backend,
            audio_in_s=summary.samples_in / summary.sample_rate,
            audio_out_s=summary.samples_out / summary.sample_rate,
        )
    )


def _sample_rate(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(
            f"sample_rate must be a whole number of Hz, got {value!r}", field="sample_rate"
        ) from None
