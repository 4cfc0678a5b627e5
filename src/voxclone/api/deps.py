"""Route dependencies as type aliases: ``ServicesDep``, ``UserKey``, ``AdminKey``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from voxclone.core.errors import KeyRateLimited, PermissionDenied
from voxclone.services.container import Services
from voxclone.services.keys import Principal
from voxclone.services.synthesis import RateState


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in a thread, a hop on every request.
    return _services_of(request)


def _services_of(request: HTTPConnection) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def presented_key(request: HTTPConnection) -> str | None:
    """The key from ``Authorization: Bearer <key>``, ``X-API-Key: <key>`` or ElevenLabs'
    ``xi-api-key: <key>`` (HTTP or WebSocket)."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    for header in ("x-api-key", "xi-api-key"):  # xi-api-key: what ElevenLabs clients send
        key = request.headers.get(header)
        if key and key.strip():
            return key.strip()
    return None


STUDIO_COOKIE = "voxclone_session"
"""The web studio's session cookie (HttpOnly, SameSite=Strict; services/studio_sessions.py)."""


async def authenticate(connection: HTTPConnection, services: Services, *, method: str) -> Principal:
    """A key presented in a header wins; else the studio's session cookie, whose state-changing
    requests must carry ``X-CSRF-Token`` and whose WebSockets must come from this origin."""
    key = presented_key(connection)
    cookie = connection.cookies.get(STUDIO_COOKIE)
    if key is None and cookie:
        caller = await services.studio_sessions.caller(
            cookie, method=method, csrf_header=connection.headers.get("x-csrf-token")
        )
        return caller.principal
    return await services.keys.authenticate(key)


# The security schemes a client or fuzzer can use, for the OpenAPI document only
# (``openapi.py`` puts them on every route that ``takes_key``); ``authenticate`` reads the
# same headers and cookie itself, in its own order. As ``Security`` dependencies FastAPI would
# run all four on every request, for nothing (docs/decisions.md).
_BEARER = HTTPBearer(
    scheme_name="Bearer", auto_error=False, description="Authorization: Bearer <key>"
)
_X_API_KEY = APIKeyHeader(
    name="X-API-Key", scheme_name="XApiKey", auto_error=False, description="A voxclone key."
)
_XI_API_KEY = APIKeyHeader(
    name="xi-api-key",
    scheme_name="XiApiKey",
    auto_error=False,
    description="ElevenLabs' header: a voxclone key.",
)
_STUDIO = APIKeyCookie(
    name=STUDIO_COOKIE,
    scheme_name="StudioSession",
    auto_error=False,
    description="The web studio's session (POST /v1/studio/session); with X-CSRF-Token on "
    "requests that change state.",
)


KEY_SCHEMES: tuple[SecurityBase, ...] = (_BEARER, _X_API_KEY, _XI_API_KEY, _STUDIO)


async def get_principal(request: Request) -> Principal:
    """The caller (a user key or the admin key). The key dependencies take no others: FastAPI
    solves every dependency on every request, so the one that authenticates finds the services
    itself (``_services_of``) instead of depending on ``ServicesDep``."""
    principal = await authenticate(request, _services_of(request), method=request.method)
    request.state.principal = principal
    return principal


async def get_user(request: Request) -> Principal:
    """The caller's user key, counted against its rate limit (429 past it). Where the key
    stands in its window goes into X-RateLimit-* headers (``RateLimitHeaders``)."""
    principal = await get_principal(request)
    if principal.key_id is None:
        raise PermissionDenied(
            "the admin key manages keys only; create a user key with POST /v1/keys"
        )
    await count_request(request, _services_of(request), principal)
    return principal


async def count_request(
    connection: HTTPConnection, services: Services, principal: Principal
) -> None:
    """One request of the key against its rate limit; the window's state is kept on the
    connection for the response headers, also when the request is refused."""
    try:
        state = await services.admission.check_rate(principal)
    except KeyRateLimited as exc:
        connection.state.ratelimit = RateState(
            limit=int(exc.details["limit"]), remaining=0, reset_unix=int(exc.details["reset"])
        )
        raise
    if state is not None:
        connection.state.ratelimit = state


async def get_admin(request: Request) -> Principal:
    principal = await get_principal(request)
    if not principal.is_admin:
        raise PermissionDenied("this endpoint needs the admin key")
    return principal


def takes_key(dependant: Dependant) -> bool:
    """Whether a route authenticates its caller (a key dependency among its dependencies)."""
    return any(d.call in _KEY_DEPENDENCIES or takes_key(d) for d in dependant.dependencies)


_KEY_DEPENDENCIES = (get_principal, get_user, get_admin)
AnyKey = Annotated[Principal, Depends(get_principal)]
UserKey = Annotated[Principal, Depends(get_user)]
AdminKey = Annotated[Principal, Depends(get_admin)]
