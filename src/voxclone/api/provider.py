"""The provider server: local engines behind voicebox's external-provider HTTP spec.

``voxclone provider serve --engine NAME [--engine NAME ...]`` runs this app (at most one engine
of each kind) so that one GPU box can serve many gateways (whose ``provider`` engines are the
clients of it):

- ``GET /health``: ``status``, ``model``, ``device`` (the spec, for the first engine), plus what
  voxclone's client can use: ``engine``, ``kind``, ``capabilities`` (the kinds served),
  ``engines`` (each kind's engine and model), ``languages``, ``sample_rate``, ``cloning`` (TTS)
  and request counts;
- TTS engines: ``POST /v1/create_voice_prompt`` (multipart ``audio``, ``reference_text`` →
  ``{"voice_prompt"}``) and ``POST /v1/generate`` (JSON ``text``, ``voice_prompt``, ``language``,
  ``seed``, and voxclone's optional ``speed``/``temperature`` → ``{"audio": base64 float32 LE,
  "sample_rate", "dtype": "float32"}``; or, asked with ``Accept: application/octet-stream``,
  the same samples as the raw body with ``X-Sample-Rate`` and ``X-Dtype`` headers);
- STT engines: ``POST /v1/transcribe`` (multipart ``audio``, ``language`` → ``{"text",
  "language", "duration", "segments": [{"start", "end", "text"}]}``);
- denoise engines (voxclone's addition): ``POST /v1/denoise`` (multipart ``audio`` → the
  denoised samples, same rate and length, in ``/v1/generate``'s two shapes);
- embed engines (voxclone's addition): ``POST /v1/embed`` (multipart ``audio`` →
  ``{"embedding": [floats], "dim", "model"}``, unit length).
- with ``callback`` (``--callback``), for the TTS engine: ``POST /v1/trigger``, a job from a
  gateway's ``callback`` engine, answered 202 and called back when rendered (see
  ``voxclone.api.provider_callback``).

With an API key, every ``/v1`` route wants it in ``X-API-Key`` (or ``Authorization: Bearer``);
``/health`` stays open for load balancers. Uploads are decoded from memory: nothing a client
sends is ever written to a path, let alone one built from its file name. At most
``concurrency`` engine calls run at once, all engines together (1 by default: one GPU).
"""

from __future__ import annotations

import asyncio
import hmac
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from voxclone import __version__
from voxclone.api.errors import install_error_handlers
from voxclone.api.limits import BodySizeLimit
from voxclone.api.provider_callback import CallbackWorker, TriggerBody
from voxclone.api.uploads import FIELD_SLACK, read_form, read_upload, text_field
from voxclone.audio import check_duration, concat_with_crossfade, decode_audio
from voxclone.config import LimitSettings
from voxclone.core.errors import (
    AudioTooLarge,
    AuthenticationError,
    EngineError,
    InvalidAudio,
    InvalidText,
    MissingField,
    PayloadTooLarge,
    UnsupportedLanguage,
    VoxcloneError,
)
from voxclone.core.types import Audio
from voxclone.engines.base import Denoiser, Embedder, STTEngine, SynthesisParams, TTSEngine
from voxclone.engines.remote.wire import RAW_MEDIA_TYPE, b64_float32, float32_bytes

MAX_UPLOAD_SECONDS = 3 * 3600.0
"""The longest audio ``/v1/transcribe``, ``/v1/denoise`` and ``/v1/embed`` decode (checked from
the file's header before decoding); the gateway's own limits are usually tighter."""


class GenerateBody(BaseModel):
    text: str = Field(description="What to say.")
    voice_prompt: dict[str, Any] = Field(default_factory=dict)
    language: str = "en"
    seed: int | None = None
    speed: float = Field(1.0, gt=0.0, le=4.0, description="voxclone's addition to the spec.")
    temperature: float | None = Field(None, ge=0.0, description="voxclone's addition.")


def audio_response(audio: Audio, request: Request) -> Response:
    """Samples as raw float32 when the client accepts it, else the spec's base64 JSON."""
    if RAW_MEDIA_TYPE in request.headers.get("accept", ""):
        return Response(
            float32_bytes(audio),
            media_type=RAW_MEDIA_TYPE,
            headers={"X-Sample-Rate": str(audio.sample_rate), "X-Dtype": "float32"},
        )
    return JSONResponse(
        {"audio": b64_float32(audio), "sample_rate": audio.sample_rate, "dtype": "float32"}
    )


def create_provider_app(
    *,
    limits: LimitSettings,
    tts: TTSEngine | None = None,
    stt: STTEngine | None = None,
    denoise: Denoiser | None = None,
    embed: Embedder | None = None,
    api_key: str | None = None,
    concurrency: int = 1,
    on_close: Callable[[], None] | None = None,
    callback: bool = False,
) -> FastAPI:
    """The app for one engine of each kind given (keyword = kind); at least one is needed.
    ``callback`` adds ``POST /v1/trigger`` (``voxclone.api.provider_callback``) for ``tts``."""
    served: dict[str, TTSEngine | STTEngine | Denoiser | Embedder] = {
        kind: engine
        for kind, engine in (("tts", tts), ("stt", stt), ("denoise", denoise), ("embed", embed))
        if engine is not None
    }
    if not served:
        raise ValueError("a provider serves at least one engine (tts, stt, denoise or embed)")
    first_kind, first = next(iter(served.items()))
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if callback and tts is None:
        raise ValueError("callback mode needs a text-to-speech engine")
    counts: Counter[str] = Counter()
    slots = asyncio.Semaphore(concurrency)
    worker: CallbackWorker | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if worker is not None:
                await worker.close()
            if on_close is not None:
                on_close()

    app = FastAPI(
        title=f"voxclone provider ({', '.join(e.name for e in served.values())})",
        version=__version__,
        description="A local engine behind the external-provider HTTP spec.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_request_bytes)

    async def check_key(request: Request) -> None:
        if api_key is None:
            return
        presented = request.headers.get("x-api-key", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not presented and scheme.lower() == "bearer":
            presented = token.strip()
        if not hmac.compare_digest(presented.encode(), api_key.encode()):
            raise AuthenticationError("missing or wrong X-API-Key")

    keyed = APIRouter(dependencies=[Depends(check_key)])

    async def run(name: str, work: Callable[[], Any]) -> Any:
        async with slots:
            try:
                return await asyncio.to_thread(work)
            except VoxcloneError:
                counts["errors"] += 1
                raise
            except Exception as exc:
                counts["errors"] += 1
                raise EngineError(f"engine {name!r} failed: {exc}") from exc

    async def read_audio(request: Request, *fields: str) -> tuple[Audio, dict[str, str | None]]:
        """The multipart ``audio`` file, decoded from memory, and the text ``fields``."""
        form = await read_form(
            request,
            max_file_bytes=max(1, limits.max_request_bytes - FIELD_SLACK),
            too_large=PayloadTooLarge,
            field="audio",
        )
        try:
            data = await read_upload(form, "audio")
            values = {name: text_field(form, name) for name in fields}
        finally:
            await form.close()
        if data is None:
            raise MissingField("audio is required (a file field)", field="audio")
        return decode_audio(data, max_seconds=MAX_UPLOAD_SECONDS).audio, values

    @app.get("/health")
    async def health() -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "healthy",
            "model": first.version,
            "device": str(getattr(first, "device", "cpu")),
            "engine": first.name,
            "kind": first_kind,
            "capabilities": list(served),
            "engines": {k: {"engine": e.name, "model": e.version} for k, e in served.items()},
            "requests": dict(counts),
        }
        if tts is not None:
            caps = tts.capabilities()
            body.update(
                languages=sorted(caps.languages),
                sample_rate=caps.sample_rate,
                cloning=caps.cloning,
            )
        return body

    if tts is not None:
        speaker: TTSEngine = tts

        @keyed.post("/v1/generate", response_model=None)
        async def generate(body: GenerateBody, request: Request) -> Response:
            counts["generate"] += 1
            text = body.text
            if not text.strip():
                raise MissingField("text is required and must not be empty", field="text")
            if len(text) > limits.max_text_chars:
                raise InvalidText(
                    f"text is {len(text)} characters long; at most {limits.max_text_chars}",
                    length=len(text),
                )
            languages = speaker.capabilities().languages
            if body.language not in languages:
                raise UnsupportedLanguage(
                    f"engine {speaker.name!r} does not speak {body.language!r}; "
                    f"supported: {', '.join(sorted(languages))}",
                    language=body.language,
                    supported=sorted(languages),
                )
            params = SynthesisParams(
                language=body.language,
                speed=body.speed,
                temperature=body.temperature,
                seed=body.seed,
            )

            def render() -> Audio:
                chunks = list(speaker.synthesize(text, body.voice_prompt, params))
                if not chunks:
                    raise EngineError(f"engine {speaker.name!r} produced no audio")
                return concat_with_crossfade(chunks)

            return audio_response(await run(speaker.name, render), request)

        @keyed.post("/v1/create_voice_prompt")
        async def create_voice_prompt(request: Request) -> dict[str, Any]:
            counts["create_voice_prompt"] += 1
            form = await read_form(
                request,
                max_file_bytes=limits.max_reference_bytes,
                too_large=AudioTooLarge,
                field="audio",
            )
            try:
                data = await read_upload(form, "audio")
                transcript = text_field(form, "reference_text")
            finally:
                await form.close()
            if data is None:
                raise MissingField("audio is required (a file field)", field="audio")
            decoded = decode_audio(data, max_seconds=limits.max_reference_seconds)
            check_duration(
                decoded.audio,
                min_s=limits.min_reference_seconds,
                max_s=limits.max_reference_seconds,
                what="reference audio",
            )
            prompt = await run(
                speaker.name,
                lambda: speaker.create_voice_prompt(decoded.audio, transcript or None),
            )
            return {"voice_prompt": prompt}

    if stt is not None:
        listener: STTEngine = stt

        @keyed.post("/v1/transcribe")
        async def transcribe(request: Request) -> dict[str, Any]:
            counts["transcribe"] += 1
            audio, fields = await read_audio(request, "language")
            language = fields["language"] or None
            result = await run(listener.name, lambda: listener.transcribe(audio, language))
            return {
                "text": result.text,
                "language": result.language,
                "duration": result.duration_s
                if result.duration_s is not None
                else round(audio.duration_s, 3),
                "segments": [
                    {"id": i, "start": s.start_s, "end": s.end_s, "text": s.text}
                    for i, s in enumerate(result.segments)
                ],
            }

    if denoise is not None:
        denoiser: Denoiser = denoise

        @keyed.post("/v1/denoise", response_model=None)
        async def denoise_audio(request: Request) -> Response:
            counts["denoise"] += 1
            audio, _ = await read_audio(request)
            clean = await run(denoiser.name, lambda: denoiser.denoise(audio))
            return audio_response(clean, request)

    if embed is not None:
        embedder: Embedder = embed

        @keyed.post("/v1/embed")
        async def embed_audio(request: Request) -> dict[str, Any]:
            counts["embed"] += 1
            audio, _ = await read_audio(request)

            def work() -> list[float]:
                try:
                    vector = embedder.embed(audio)
                except ValueError as exc:  # the clip cannot be embedded (too short): a 422
                    raise InvalidAudio(str(exc), engine=embedder.name) from exc
                return [float(v) for v in vector]

            values: list[float] = await run(embedder.name, work)
            return {"embedding": values, "dim": len(values), "model": embedder.version}

    if callback and tts is not None:
        worker = CallbackWorker(engine=tts, limits=limits, run=run)
        triggered = worker

        @keyed.post("/v1/trigger", status_code=202)
        async def trigger(body: TriggerBody) -> dict[str, Any]:
            counts["trigger"] += 1
            return triggered.accept(body)

    app.include_router(keyed)
    return app
