from __future__ import annotations

from fastapi import APIRouter, Body, Response

from voxclone.api.deps import AdminKey, ServicesDep
from voxclone.api.schemas import KeyCreate, KeyIssued, KeyPublic

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyIssued)
async def create_key(
    services: ServicesDep, _admin: AdminKey, body: KeyCreate | None = Body(None)
) -> KeyIssued:
    body = body or KeyCreate()
    issued = await services.keys.create(
        label=body.label,
        rate_limit_per_minute=body.rate_limit_per_minute,
        monthly_char_quota=body.monthly_char_quota,
    )
    return KeyIssued(**KeyPublic.of(issued.record).model_dump(), api_key=issued.secret)


@router.get("", response_model=list[KeyPublic])
async def list_keys(services: ServicesDep, _admin: AdminKey) -> list[KeyPublic]:
    return [KeyPublic.of(k) for k in await services.keys.list()]


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, services: ServicesDep, _admin: AdminKey) -> Response:
    await services.keys.revoke(key_id=key_id)
    return Response(status_code=204)
