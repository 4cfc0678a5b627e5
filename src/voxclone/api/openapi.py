"""The OpenAPI document, completed where FastAPI cannot see: the error answers every route can
give (in voxclone's error shape, or ElevenLabs' under ``/elevenlabs``), the headers sent with
them (``X-Request-Id`` on every answer, rate-limit headers and ``Retry-After`` on 429, the
synthesis headers on audio), and request bodies of routes that read multipart by hand
(``multipart_body``).

Which errors a route documents follows from what it is: every route can be malformed (400,
422) or too big (413, with a body); a route that takes a key can refuse it (401, 403) and be
rate-limited (429); a route with an id in its path can miss (404); a route that changes state
can conflict (409); a route that runs an engine can be over quota (402) or find the engine
down, failing or slow (503, 502, 504). ``tests/api/test_openapi.py`` checks the document, and
the suite checks every status the tests saw against it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from voxclone.api.deps import KEY_SCHEMES, takes_key

ERROR = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string", "description": "A stable code (not_found, quota_exceeded)."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "details": {"type": "object", "additionalProperties": True},
    },
}
ELEVENLABS_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "object",
            "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
HEADERS = {
    "X-Request-Id": "This request's id (the client's own when it sent a sane one); in the logs.",
    "X-RateLimit-Limit": "Requests the key may make per minute.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "Unix time at which the window resets.",
    "Retry-After": "Seconds to wait before trying again.",
    "X-Cache": "HIT when the audio came from the synthesis cache, else MISS.",
    "X-Voice-Id": "The voice that spoke.",
    "X-Backend": "The engine that spoke (after any fallback).",
    "X-Synthesis-Time-Ms": "Time spent synthesizing (0 on a cache hit).",
    "X-Audio-Duration": "Seconds of audio.",
    "X-History-Id": "The history item that keeps this audio.",
    "X-Provenance-Manifest": "URL of the history item's signed provenance manifest.",
    "X-Voice-Prompt": "One-shot: the prompt that spoke: fitted (now), cached (an earlier call's "
    "fit of the same clip) or nearest (the nearest stock voice while the fit runs on).",
}
REASONS = {
    206: "Part of the audio, as the Range header asked.",
    400: "Malformed request (a bad id, an unreadable body).",
    401: "Missing, unknown or revoked key.",
    402: "The key's character quota for this period is used up.",
    403: "The key may not do this (admin only, another tenant, a missing CSRF token).",
    404: "Not found (or not this key's).",
    409: "The resource is not in a state that allows this.",
    413: "The body or an upload is over its limit.",
    416: "The Range asked for is outside the audio.",
    422: "A field is invalid; `details` names it.",
    429: "Rate limited: too many requests, jobs or heavy requests at once "
    "(limits.max_concurrent_heavy_per_key); see Retry-After.",
    502: "A remote engine or provider failed.",
    500: "An internal error (logged with the request id).",
    503: "The engine or queue is unavailable.",
    504: "A remote engine did not answer in time.",
}
ENGINE_PATHS = (
    "/v1/synthesize",
    "/v1/text-to-speech",
    "/v1/audio/",
    "/v1/transcribe",
    "/v1/voices",
    "/v1/speakers",
    "/v1/biometrics",
    "/v1/history",
    "/v1/stories",
    "/api/v1/voice",
    "/elevenlabs/",
    "/dev/captioned_speech",
    "/v1/speech-to-text",
)
UUID_PARAMETERS = frozenset(
    {"key_id", "job_id", "history_id", "story_id", "track_id", "clip_id", "speaker_id"}
    | {"enrollment_id", "sample_id"}
)
"""Path ids that are always UUIDs (a voice may also be a stock voice's name)."""
OWN_AUTH = frozenset(
    {"/v1/jobs/{job_id}/complete", "/v1/studio/session", "/metrics", "/v1/webhooks/stripe"}
)
"""Routes that check a credential of their own (a job's callback secret, a scrape token, a
signature, the key to sign in with) rather than the API key."""
AUDIO_PATHS = ("/v1/synthesize", "/v1/text-to-speech", "/v1/audio/speech")
MUTATING = frozenset({"post", "put", "patch", "delete"})


def multipart_body(
    *, files: dict[str, str], fields: dict[str, str] | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its multipart body itself: ``files`` and
    ``fields`` map names to descriptions; ``required`` names those that must be sent."""
    properties: dict[str, Any] = {
        name: {"type": "string", "format": "binary", "description": text}
        for name, text in files.items()
    }
    properties |= {
        name: {"type": "string", "description": text} for name, text in (fields or {}).items()
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


AUDIO = "An audio file: WAV, MP3, FLAC or OGG (sniffed)."
MULTIPART_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/voices"): multipart_body(
        files={"ref_audio": "The reference clip (3-60 s). Or reference_audio_url."},
        fields={
            "name": "The voice's name.",
            "reference_audio_url": "Fetch the clip from here instead (http/https).",
            "ref_text": "What the clip says (transcribed when absent).",
            "backend": "The engine (default: the server's).",
            "lang": "Language tag (en, en-us, ja, ...).",
            "family": "A family name shared by related voices.",
            "denoise": "true: clean the clip first.",
            "description": "Free text.",
            "tags": "JSON list or comma-separated.",
            "labels": "JSON object of strings.",
        },
        required=("name",),
    ),
    ("post", "/v1/voices/{voice_id}/samples"): multipart_body(
        files={"audio": AUDIO}, fields={"ref_text": "What it says."}, required=("audio",)
    ),
    ("post", "/v1/voices/{voice_id}/consent"): multipart_body(
        files={"audio": "A recording of the consent phrase, in the voice's own voice."},
        fields={"consent_id": "The challenge answered (default: the newest open one)."},
        required=("audio",),
    ),
    ("post", "/v1/watermark/detect"): multipart_body(
        files={"file": "The audio to look for the watermark in (any copy: MP3, Opus, WAV...)."},
        required=("file",),
    ),
    ("post", "/v1/voices/import"): multipart_body(
        files={"archive": "A voice archive from GET /v1/voices/{id}/export."},
        required=("archive",),
    ),
    ("post", "/v1/stories/import"): multipart_body(
        files={"archive": "A project archive from GET /v1/stories/{id}/export."},
        required=("archive",),
    ),
    ("post", "/v1/audio/transcriptions"): multipart_body(
        files={"file": AUDIO},
        fields={
            "model": "whisper-1 or an STT engine name.",
            "language": "ISO-639-1; absent: detected.",
            "prompt": "Text that came before.",
            "response_format": "json, text, srt, verbose_json or vtt.",
            "temperature": "0..1.",
            "timestamp_granularities[]": "word and/or segment (verbose_json).",
            "stream": "true: server-sent events.",
            "diarize": "true: label segments by speaker (verbose_json, srt, vtt).",
        },
        required=("file",),
    ),
    ("post", "/v1/audio/translations"): multipart_body(
        files={"file": AUDIO},
        fields={
            "model": "whisper-1 or an STT engine name.",
            "prompt": "Text that came before.",
            "response_format": "json, text, srt, verbose_json or vtt.",
            "temperature": "0..1.",
        },
        required=("file",),
    ),
    ("post", "/v1/transcribe"): multipart_body(
        files={"audio": AUDIO},
        fields={"language": "Language tag.", "backend": "An STT engine."},
        required=("audio",),
    ),
    ("post", "/v1/audio/denoise"): multipart_body(
        files={"file": AUDIO},
        fields={"format": "Output format.", "sample_rate": "8000-48000."},
        required=("file",),
    ),
    ("post", "/v1/speakers/{speaker_id}/enrollments"): multipart_body(
        files={"audio": AUDIO}, required=("audio",)
    ),
    ("post", "/v1/speakers/{speaker_id}/verify"): multipart_body(
        files={"audio": AUDIO}, fields={"threshold": "Cosine score to match."}, required=("audio",)
    ),
    ("post", "/v1/speakers/identify"): multipart_body(
        files={"audio": AUDIO},
        fields={"top_k": "Most candidates.", "threshold": "Least score."},
        required=("audio",),
    ),
    ("post", "/v1/biometrics/jobs"): multipart_body(
        files={"audio": AUDIO},
        fields={"speaker_ids": "Comma-separated ids.", "threshold": "Least score."},
        required=("audio",),
    ),
    ("post", "/api/v1/voice/synthesize"): multipart_body(
        files={"reference_audio": AUDIO},
        fields={
            "text": "What to say.",
            "language": "Language tag.",
            "speed": "0.25-4.",
            "temperature": "Sampling temperature.",
        },
        required=("text", "reference_audio"),
    ),
}
"""Routes that read their multipart body themselves, so FastAPI cannot describe it."""


def install_openapi(app: FastAPI, *, error_schema: str = "Error") -> None:
    """``error_schema``: the shape of this app's errors (``ElevenLabsError`` for the app
    mounted at /elevenlabs)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document_keys(schema, app.routes)
            complete(schema, error_schema=error_schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_keys(schema: dict[str, Any], routes: list[BaseRoute]) -> None:
    """Every way to present a key (``deps.KEY_SCHEMES``) as the ``security`` of each route that
    takes one, as FastAPI writes it for ``Security`` dependencies."""
    paths = schema.get("paths", {})
    requirements: list[dict[str, list[str]]] = [{s.scheme_name: []} for s in KEY_SCHEMES]
    documented = False
    for route in iter_route_contexts(routes):  # with the routers' own dependencies
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        if not takes_key(route.dependant):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = list(requirements)
                documented = True
    if documented:
        schema.setdefault("components", {})["securitySchemes"] = {
            scheme.scheme_name: jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
            for scheme in KEY_SCHEMES
        }


def complete(schema: dict[str, Any], *, error_schema: str = "Error") -> None:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR
    components["schemas"]["ElevenLabsError"] = ELEVENLABS_ERROR
    components["headers"] = {
        name: {"description": text, "schema": {"type": "string"}} for name, text in HEADERS.items()
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method in ("get", "head", "post", "put", "patch", "delete", "options"):
                _complete_operation(path, method, operation, error_schema)


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _complete_operation(
    path: str, method: str, operation: dict[str, Any], error_schema: str
) -> None:
    body = MULTIPART_ROUTES.get((method, path))
    if body is not None and "requestBody" not in operation:
        operation.update(body)
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter["name"] in UUID_PARAMETERS:
            parameter["schema"] = {"type": "string", "format": "uuid"}
    responses: dict[str, Any] = operation.setdefault("responses", {})
    error = error_schema
    statuses = {400, 422, 500}  # 500: a bug or a failed store (the fuzz tests still fail on it)
    if "requestBody" in operation or method in MUTATING:
        statuses |= {413}
    if operation.get("security"):
        statuses |= {401, 403, 429}
    elif path in OWN_AUTH:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if method in MUTATING:
        statuses.add(409)
    if method == "get" and path.endswith("/audio"):
        statuses |= {206, 416}  # Range requests
    if path.startswith(ENGINE_PATHS):
        statuses |= {402, 404, 409, 502, 503, 504} if method != "get" else {404, 409, 503}
    for code in sorted(statuses):
        answer = responses.setdefault(str(code), {"description": REASONS[code]})
        if code < 400:  # a part of the success answer
            answer["content"] = responses.get("200", {}).get("content", {})
            continue
        answer["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}
        }
    for status, answer in responses.items():
        headers = answer.setdefault("headers", {})
        headers["X-Request-Id"] = _header("X-Request-Id")
        if operation.get("security"):
            for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                headers[name] = _header(name)
        if status == "429":
            headers["Retry-After"] = _header("Retry-After")
        if status == "200" and path.startswith(AUDIO_PATHS):
            for name in ("X-Cache", "X-Voice-Id", "X-Backend", "X-Synthesis-Time-Ms"):
                headers[name] = _header(name)
        if status == "200" and path == "/api/v1/voice/synthesize":
            headers["X-Voice-Prompt"] = _header("X-Voice-Prompt")
