"""``GET /v1/backends``: the text-to-speech engines a key may name (``backend``, ``model_id``),
for clients and the studio's engine menus; ``GET /v1/engines`` (their health) is the admin's."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from voxclone.api.deps import ServicesDep, UserKey

router = APIRouter(tags=["engines"])


class BackendList(BaseModel):
    default_backend: str
    backends: list[str]


@router.get("/v1/backends", response_model=BackendList)
async def list_backends(services: ServicesDep, _user: UserKey) -> BackendList:
    """The registered text-to-speech engines by name (nothing is loaded to list them)."""
    return BackendList(
        default_backend=services.settings.default_backend,
        backends=services.engines.names("tts"),
    )
