"""The one place where errors become HTTP responses, all in one JSON shape:
``{"error": code, "message": text, "details": {...}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from voxclone.core import errors as e

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS: list[tuple[type[e.VoxcloneError], int]] = [
    (e.JobNotReady, 404),  # afterwords: "404 — job not found, wrong owner, or not yet ready"
    (e.InvalidInput, 400),
    (e.UrlNotAllowed, 422),
    (e.UrlFetchFailed, 422),
    (e.Unprocessable, 422),
    (e.OutputTooLong, 422),
    (e.ConsentRejected, 422),
    (e.PayloadTooLarge, 413),
    (e.AuthenticationError, 401),
    (e.PermissionDenied, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.QuotaExceeded, 402),
    (e.RateLimited, 429),
    (e.SessionExpired, 408),
    (e.EngineUnavailable, 503),
    (e.ProviderTimeout, 504),
    (e.ProviderError, 502),
    (e.EngineError, 500),
    (e.StorageError, 500),
    (e.QueueUnavailable, 503),
    (e.BillingNotConfigured, 503),
    (e.PaymentProviderError, 502),
]

# The GPT-SoVITS proxy document answers every invalid input with 400.
ALL_INVALID_IS_400 = ("/api/v1/voice/",)


def status_for(exc: e.VoxcloneError, path: str) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            invalid = status == 422 or isinstance(exc, e.AudioTooLarge)
            if invalid and path.startswith(ALL_INVALID_IS_400):
                return 400
            return status
    return 500


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _voxclone_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.VoxcloneError)
    status = status_for(exc, request.url.path)
    if status >= 500:
        log.error("%s %s: %s: %s", request.method, request.url.path, exc.code, exc.message)
    response = error_response(status, exc.code, exc.message, exc.details)
    if isinstance(exc, e.RateLimited):
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return response


def _field(loc: Any) -> str:
    """The field a validation error is about: its ``loc`` less the first part (``body``,
    ``query``…); a whole missing body (``("body",)``) is called ``body``."""
    parts = [str(p) for p in loc]
    return ".".join(parts[1:]) or (parts[0] if parts else "")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": _field(err.get("loc", ())), "problem": err.get("msg", "")} for err in exc.errors()
    ]
    missing = [
        p["field"]
        for p, err in zip(problems, exc.errors(), strict=True)
        if err.get("type") == "missing"
    ]
    if missing == ["body"]:
        return error_response(
            400, "missing_field", "the request body is required", {"fields": missing}
        )
    if missing and len(missing) == len(problems):
        return error_response(
            400,
            "missing_field",
            f"missing required field(s): {', '.join(missing)}",
            {"fields": missing},
        )
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    status = 400 if request.url.path.startswith(ALL_INVALID_IS_400) else 422
    summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
    return error_response(status, "validation_error", summary, {"problems": problems})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 400: "bad_request"}
    response = error_response(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
    )
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this path: Starlette's 405 names only the
    first route that matched the path, and FastAPI makes one route per method."""
    return [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(e.VoxcloneError, _voxclone_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
