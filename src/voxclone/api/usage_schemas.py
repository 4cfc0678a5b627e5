"""Response bodies of ``GET /v1/usage`` and ``GET /v1/admin/usage``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from voxclone.services.usage import QuotaStatus, UsageSummary, UsageTotals


class UsageTotalsPublic(BaseModel):
    characters: int = Field(description="Characters billed (a cache hit costs none).")
    audio_out_s: float = Field(description="Seconds of audio produced.")
    audio_in_s: float = Field(description="Seconds of audio taken in (STT, denoise, biometrics).")
    requests: int = Field(description="Billable requests, cache hits included.")
    cache_hits: int = Field(description="Requests answered from the cache.")


class DayUsage(UsageTotalsPublic):
    day: date = Field(description="The UTC date.")


class BackendUsage(UsageTotalsPublic):
    backend: str


class VoiceUsage(UsageTotalsPublic):
    voice_id: str | None = Field(description="None: acts with no voice (speech services).")


class KindUsage(UsageTotalsPublic):
    kind: str = Field(description="tts, stt, denoise or biometrics.")


class KeyUsage(UsageTotalsPublic):
    key_id: str


class QuotaPublic(BaseModel):
    period_start: datetime = Field(description="The current billing period starts here...")
    period_end: datetime = Field(description="...and ends here (exclusive).")
    quota: int | None = Field(description="Characters per period; None: unlimited.")
    used: int = Field(description="Characters billed this period.")
    left: int | None = Field(description="Characters left this period; None: unlimited.")
    resets_at: datetime

    @classmethod
    def of(cls, status: QuotaStatus) -> QuotaPublic:
        return cls(
            period_start=status.period.start,
            period_end=status.period.end,
            quota=status.quota,
            used=status.used,
            left=status.left,
            resets_at=status.resets_at,
        )


class UsagePublic(BaseModel):
    """Usage over ``[from, to)``; ``by_*`` lists are present for the groupings asked for."""

    model_config = ConfigDict(populate_by_name=True)

    key_id: str | None = Field(description="None: every key (the admin's view).")
    from_: datetime = Field(alias="from")
    to: datetime
    totals: UsageTotalsPublic
    quota: QuotaPublic | None = Field(
        None, description="A user key's current billing period and quota."
    )
    by_day: list[DayUsage] | None = None
    by_backend: list[BackendUsage] | None = None
    by_voice: list[VoiceUsage] | None = None
    by_kind: list[KindUsage] | None = None
    by_key: list[KeyUsage] | None = None

    @classmethod
    def of(cls, summary: UsageSummary) -> UsagePublic:
        by = {
            f"by_{name}": [
                {GROUP_FIELDS[name]: group.value, **_totals(group.totals)} for group in groups
            ]
            for name, groups in summary.groups.items()
        }
        return cls.model_validate(
            {
                "key_id": summary.key_id,
                "from": summary.start,
                "to": summary.end,
                "totals": _totals(summary.totals),
                "quota": QuotaPublic.of(summary.quota) if summary.quota else None,
                **by,
            }
        )


GROUP_FIELDS = {
    "day": "day",
    "backend": "backend",
    "voice": "voice_id",
    "kind": "kind",
    "key": "key_id",
}
"""The field that names the group in each ``by_*`` list."""


def _totals(totals: UsageTotals) -> dict[str, int | float]:
    return {
        "characters": totals.characters,
        "audio_out_s": totals.audio_out_s,
        "audio_in_s": totals.audio_in_s,
        "requests": totals.requests,
        "cache_hits": totals.cache_hits,
    }
