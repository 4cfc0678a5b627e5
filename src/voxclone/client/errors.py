"""Everything the client raises, in one tree.

``ClientError`` is the root. A response that is not 2xx becomes an ``APIError`` subclass
chosen by its status, carrying the server's JSON error (``code``, ``message``, ``details``);
failures below HTTP (no connection, a timeout) become ``TransportError``. This module imports
nothing from voxclone: the client runs with only httpx and pydantic installed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from voxclone.client.models import Job


class ClientError(Exception):
    """The root of everything the voxclone client raises."""


class TransportError(ClientError):
    """The server could not be reached, or the connection broke."""


class Timeout(TransportError):
    """The server did not answer within the timeout."""


class APIError(ClientError):
    """The server answered with an error: ``{"error": code, "message": ..., "details": ...}``."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        details: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.headers = headers or httpx.Headers()

    @property
    def retry_after_s(self) -> float | None:
        """``Retry-After`` in seconds, when the server sent one (seconds form only)."""
        value = self.headers.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


class InvalidRequest(APIError):
    """400 or 422: the request was malformed or its values were refused."""


class AuthenticationError(APIError):
    """401: no key, or a wrong or revoked one."""


class QuotaExceeded(APIError):
    """402: the key's character quota for its billing period is used up."""


class PermissionDenied(APIError):
    """403: the key may not do this (an admin-only call with a user key, say)."""


class NotFound(APIError):
    """404: no such thing, or it belongs to another key, or (a job's audio) not ready yet."""


class Conflict(APIError):
    """409: the thing is in the wrong state (a voice still fitting, say)."""


class PayloadTooLarge(APIError):
    """413: the upload is over the server's limit."""


class RateLimited(APIError):
    """429: the key's request rate or concurrent jobs are over its limit (``Retry-After``)."""


class ServerError(APIError):
    """5xx: the server or one of its engines failed."""


class ServiceUnavailable(ServerError):
    """503: an engine or the queue is not available right now (may carry ``Retry-After``)."""


class JobFailed(ClientError):
    """``wait()`` saw the job end failed or cancelled; ``job`` is its last state."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.job_id} {job.status}: {job.error or 'no reason given'}")
        self.job = job


class WaitTimeout(ClientError, TimeoutError):
    """``wait()`` gave up before the job ended; ``job`` is its last state."""

    def __init__(self, job: Job, seconds: float) -> None:
        super().__init__(f"job {job.job_id} still {job.status} after {seconds:.0f} s")
        self.job = job


BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    402: QuotaExceeded,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(response: httpx.Response) -> APIError:
    """The exception for an error response (its body must have been read)."""
    status = response.status_code
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    code, message = f"http_{status}", response.reason_phrase or "error"
    details: dict[str, Any] = {}
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"]
        message = str(body.get("message") or message)
        if isinstance(body.get("details"), dict):
            details = body["details"]
    elif isinstance(body, dict) and isinstance(body.get("detail"), dict):  # ElevenLabs' shape
        code = str(body["detail"].get("status") or code)
        message = str(body["detail"].get("message") or message)
    elif isinstance(body, dict) and "detail" in body:
        message = str(body["detail"])
    elif response.content:
        message = response.text[:500]
    return cls(message, status_code=status, code=code, details=details, headers=response.headers)
