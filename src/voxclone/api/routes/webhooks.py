"""The delivery log of a job's outbound webhook (``callback_url``)."""

from __future__ import annotations

from fastapi import APIRouter

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import WebhookDeliveryPublic

router = APIRouter(prefix="/v1/jobs", tags=["webhooks"])


@router.get("/{job_id}/deliveries", response_model=list[WebhookDeliveryPublic])
async def list_deliveries(
    job_id: str, services: ServicesDep, user: UserKey
) -> list[WebhookDeliveryPublic]:
    """Every delivery of the job's webhook with its attempts (empty without a callback_url,
    or before the job ends); another key's job is 404."""
    assert user.key_id is not None
    views = await services.webhooks.deliveries(key_id=user.key_id, job_id=job_id)
    return [WebhookDeliveryPublic.model_validate(v, from_attributes=True) for v in views]
