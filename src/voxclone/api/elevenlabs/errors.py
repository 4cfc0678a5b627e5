"""Errors in ElevenLabs' shape, ``{"detail": {"status": "...", "message": "..."}}``, for the
ElevenLabs-compatible API only (the rest of the API keeps ``api/errors.py``'s shape). The HTTP
status is voxclone's own for the error (``api.errors.status_for``), so the official SDK raises
its ``ApiError`` (``UnprocessableEntityError`` for 422) with the status and this body."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voxclone.api.errors import status_for
from voxclone.core import errors as e

log = logging.getLogger(__name__)

STATUSES: list[tuple[type[e.VoxcloneError], str]] = [
    (e.AuthenticationError, "invalid_api_key"),
    (e.QuotaExceeded, "quota_exceeded"),
    (e.RateLimited, "too_many_concurrent_requests"),
]
"""ElevenLabs' own ``status`` words where it has one; otherwise voxclone's error code."""


def detail(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"detail": {"status": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_word(exc: e.VoxcloneError) -> str:
    for cls, word in STATUSES:
        if isinstance(exc, cls):
            return word
    if isinstance(exc, e.NotFound) and ("voice_id" in exc.details or "voice" in exc.details):
        return "voice_not_found"
    return exc.code


async def _voxclone_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.VoxcloneError)
    status = status_for(exc, request.url.path)
    if status >= 500:
        log.error("%s %s: %s: %s", request.method, request.url.path, exc.code, exc.message)
    response = detail(status, status_word(exc), exc.message)
    if isinstance(exc, e.RateLimited):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err.get("loc", ())[1:]) or "body"
        problems.append(f"{field}: {err.get('msg', '')}")
    return detail(422, "invalid_request", "; ".join(problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    response = detail(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return detail(500, "internal_error", "internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(e.VoxcloneError, _voxclone_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
