"""ElevenLabs' user, subscription and models: the key as the user, its billing period's
characters and quota (``UsageService``) as the subscription, the TTS engines as the models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.elevenlabs.schemas import unix
from voxclone.services.container import Services
from voxclone.services.keys import Principal

router = APIRouter(tags=["elevenlabs"])

UNLIMITED = 2**31 - 1
"""``character_limit`` and ``voice_limit`` of a key without a limit (ElevenLabs' are ints)."""
ELEVENLABS_MODELS = (
    "eleven_multilingual_v2",
    "eleven_flash_v2_5",
    "eleven_turbo_v2_5",
    "eleven_v3",
    "eleven_monolingual_v1",
)
"""ElevenLabs' model ids: each means the voice's own engine."""


@router.get("/v1/models")
async def list_models(services: ServicesDep, _user: UserKey) -> list[dict[str, Any]]:
    """One model per text-to-speech engine (``model_id`` is its name), then ElevenLabs' ids,
    which mean the voice's own engine."""
    engines = services.engines
    models = [
        _model(name, f"voxclone engine {name}", _languages(services, name))
        for name in engines.names("tts")
    ]
    default = _languages(services, services.settings.default_backend)
    models += [
        _model(model_id, "the voice's own voxclone engine", default)
        for model_id in ELEVENLABS_MODELS
    ]
    return models


@router.get("/v1/user/subscription")
async def subscription(services: ServicesDep, user: UserKey) -> dict[str, Any]:
    return await _subscription(services, user)


@router.get("/v1/user")
async def get_user(services: ServicesDep, user: UserKey) -> dict[str, Any]:
    """The key as ElevenLabs' user: ``user_id`` is the key's id, ``first_name`` its label."""
    assert user.key_id is not None
    return {
        "user_id": user.key_id,
        "workspace_id": user.key_id,
        "subscription": await _subscription(services, user),
        "is_new_user": False,
        "can_use_delayed_payment_methods": False,
        "is_onboarding_completed": True,
        "is_onboarding_checklist_completed": True,
        "first_name": user.label or None,
        "is_api_key_hashed": True,
        "created_at": services.started_unix,
        "seat_type": "workspace_admin",
    }


async def _subscription(services: Services, user: Principal) -> dict[str, Any]:
    """The key's current billing period: characters used against its quota."""
    assert user.key_id is not None
    summary = await services.usage.summary(key=user)
    quota = summary.quota
    assert quota is not None
    voices = len(await services.voices.list(key_id=user.key_id, limit=UNLIMITED))
    return {
        "tier": "voxclone",
        "character_count": quota.used,
        "character_limit": UNLIMITED if quota.quota is None else quota.quota,
        "max_credit_limit_extension": 0,
        "can_extend_character_limit": False,
        "allowed_to_extend_character_limit": False,
        "next_character_count_reset_unix": unix(quota.resets_at),
        "voice_slots_used": voices,
        "professional_voice_slots_used": 0,
        "professional_voice_slots_used_in_workspace": 0,
        "voice_limit": UNLIMITED,
        "voice_add_edit_counter": 0,
        "professional_voice_limit": 0,
        "can_extend_voice_limit": False,
        "can_use_instant_voice_cloning": True,
        "can_use_professional_voice_cloning": False,
        "currency": "usd",
        "current_overage": {"amount": "0", "currency": "usd"},
        "status": "active",
        "billing_period": "monthly_period",
        "character_refresh_period": "monthly_period",
        "open_invoices": [],
        "has_open_invoices": False,
    }


def _languages(services: Services, backend: str) -> list[str]:
    try:
        return sorted(services.engines.get_tts(backend).capabilities().languages)
    except Exception:  # an engine that cannot load lists no languages rather than failing
        return []


def _model(model_id: str, description: str, languages: list[str]) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "name": model_id,
        "description": description,
        "can_do_text_to_speech": True,
        "can_do_voice_conversion": False,
        "can_be_finetuned": False,
        "can_use_style": False,
        "can_use_speaker_boost": False,
        "serves_pro_voices": False,
        "token_cost_factor": 1.0,
        "requires_alpha_access": False,
        "languages": [{"language_id": code, "name": code} for code in languages],
        "model_rates": {"character_cost_multiplier": 1.0},
    }
