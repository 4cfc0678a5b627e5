from __future__ import annotations

from fastapi import APIRouter, Body, Response

from voxclone.api.deps import AdminKey, AnyKey, ServicesDep
from voxclone.api.schemas import (
    KeyCreate,
    KeyIssued,
    KeyPublic,
    KeyUpdate,
    WebhookSecretIssued,
)
from voxclone.core.errors import NotFound

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
        max_concurrent_jobs=body.max_concurrent_jobs,
    )
    if body.history_max_age_days is not None or body.history_max_bytes is not None:
        record = await services.keys.update(
            key_id=issued.record.id,
            history_max_age_days=body.history_max_age_days,
            history_max_bytes=body.history_max_bytes,
        )
        return KeyIssued(**KeyPublic.of(record).model_dump(), api_key=issued.secret)
    return KeyIssued(**KeyPublic.of(issued.record).model_dump(), api_key=issued.secret)


@router.get("", response_model=list[KeyPublic])
async def list_keys(services: ServicesDep, _admin: AdminKey) -> list[KeyPublic]:
    return [KeyPublic.of(k) for k in await services.keys.list()]


@router.get("/{key_id}", response_model=KeyPublic)
async def get_key(key_id: str, services: ServicesDep, _admin: AdminKey) -> KeyPublic:
    return KeyPublic.of(await services.keys.get(key_id=key_id))


@router.patch("/{key_id}", response_model=KeyPublic)
async def update_key(
    key_id: str, body: KeyUpdate, services: ServicesDep, _admin: AdminKey
) -> KeyPublic:
    """Change a key's label or limits: only the fields sent change; ``null`` clears a limit
    back to the server's default. Takes effect at once on this host, within
    ``auth_cache_s`` on others."""
    fields = body.model_dump(exclude_unset=True)
    if fields.get("label", "") is None:
        del fields["label"]
    record = await services.keys.update(key_id=key_id, **fields)
    return KeyPublic.of(record)


@router.post("/{key_id}/webhook-secret", status_code=201, response_model=WebhookSecretIssued)
async def rotate_webhook_secret(
    key_id: str, services: ServicesDep, caller: AnyKey
) -> WebhookSecretIssued:
    """A new secret for signing this key's webhooks, shown once; the old one stops at once.
    The admin may rotate any key's; a user key only its own (another key's id is 404)."""
    if not caller.is_admin and caller.key_id != key_id:
        raise NotFound(f"no API key with id {key_id}", key_id=key_id)
    secret = await services.keys.rotate_webhook_secret(key_id=key_id)
    return WebhookSecretIssued(key_id=key_id, webhook_secret=secret)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: str, services: ServicesDep, _admin: AdminKey) -> Response:
    await services.keys.revoke(key_id=key_id)
    return Response(status_code=204)
