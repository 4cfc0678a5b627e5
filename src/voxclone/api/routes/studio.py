"""The web studio: its page at ``/``, its files under ``/studio``, and its sign-in.

``POST /v1/studio/session`` exchanges an API key for a session cookie (HttpOnly,
SameSite=Strict) and a CSRF token the page keeps in memory; the key is never stored by the
browser. ``GET`` tells the page who is signed in (``signed_in: false`` when nobody is, so that a
first visit logs no error), ``DELETE`` signs out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from voxclone.api.deps import STUDIO_COOKIE, ServicesDep, get_principal
from voxclone.core.errors import AuthenticationError
from voxclone.services.keys import Principal
from voxclone.web import INDEX_HTML

router = APIRouter(tags=["studio"])


class SignIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=200, description="A user key or the admin key.")


class StudioSession(BaseModel):
    signed_in: bool = True
    admin: bool = False
    key_id: str | None = None
    label: str = ""
    csrf_token: str | None = Field(
        None, description="Send it back in X-CSRF-Token on every request that changes state."
    )


def _public(principal: Principal, csrf_token: str) -> StudioSession:
    return StudioSession(
        admin=principal.is_admin,
        key_id=principal.key_id,
        label=principal.label,
        csrf_token=csrf_token,
    )


@router.get("/", include_in_schema=False)
async def studio_page() -> FileResponse:
    return FileResponse(INDEX_HTML, headers={"Cache-Control": "no-cache"})


@router.post("/v1/studio/session", response_model=StudioSession)
async def sign_in(body: SignIn, response: Response, services: ServicesDep) -> StudioSession:
    signed = await services.studio_sessions.sign_in(body.api_key)
    response.set_cookie(
        STUDIO_COOKIE,
        signed.token,
        max_age=signed.max_age_s,
        httponly=True,
        samesite="strict",
        secure=services.settings.studio.secure_cookie,
        path="/",
    )
    return _public(signed.principal, signed.csrf_token)


@router.get("/v1/studio/session", response_model=StudioSession)
async def current_session(request: Request, services: ServicesDep) -> StudioSession:
    token = request.cookies.get(STUDIO_COOKIE)
    if not token:
        return StudioSession(signed_in=False)
    try:
        caller = await services.studio_sessions.caller(token, method="GET")
    except AuthenticationError:
        return StudioSession(signed_in=False)
    return _public(caller.principal, caller.csrf_token)


@router.delete("/v1/studio/session", status_code=204)
async def sign_out(
    request: Request,
    services: ServicesDep,
    _: Annotated[Principal, Depends(get_principal)],
) -> Response:
    token = request.cookies.get(STUDIO_COOKIE)
    if token:
        await services.studio_sessions.sign_out(token)
    response = Response(status_code=204)
    response.delete_cookie(STUDIO_COOKIE, path="/", httponly=True, samesite="strict")
    return response
