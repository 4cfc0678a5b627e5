"""Trust: spoken consent before a voice is used (docs/consent.md), signed provenance manifests
(docs/provenance.md), the audio watermark (docs/watermark.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ConsentSettings(BaseModel):
    required: bool = Field(
        False,
        description="Cloned voices may not speak until their owner recorded the consent phrase "
        "the server issued, in the voice's own voice (stock voices need none).",
    )
    max_word_error_rate: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Most word error rate between the recording's transcript and the phrase.",
    )
    speaker_threshold: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="Least cosine score between the recording and the voice's reference "
        "(None: the biometrics threshold, the equal-error threshold).",
    )
    challenge_ttl_s: int = Field(
        900, ge=30, description="How long a consent phrase may be answered after it was issued."
    )


class ProvenanceSettings(BaseModel):
    enabled: bool = Field(
        True,
        description="Hash every generated file into its history item and serve signed manifests "
        "(GET /v1/history/{id}/manifest, POST /v1/provenance/verify). Off: nothing on the "
        "synthesis path.",
    )
    signing_key: SecretStr | None = Field(
        None,
        description="Ed25519 private key signing the manifests: PKCS#8 PEM, or the base64 of its "
        "32 raw bytes (one line). Unset: generated on first start into "
        "DATA_DIR/provenance_key.pem. Several API hosts must share one key.",
    )


class WatermarkSettings(BaseModel):
    enabled: bool = Field(
        True,
        description="Embed an inaudible watermark (this deployment and the history item) in "
        "the audio of cloned voices, and serve POST /v1/watermark/detect. Off: nothing on the "
        "synthesis path.",
    )
    stock_voices: bool = Field(
        False, description="Watermark the audio of stock voices too (not only cloned voices)."
    )
    strength: float = Field(
        0.2,
        gt=0,
        le=0.5,
        description="Relative change of the 1-4 kHz magnitude per chip (0.2: about ±1.6 dB); "
        "more is more robust and more audible.",
    )
    deployment: int | None = Field(
        None,
        ge=0,
        le=0xFFFF,
        description="The 16-bit deployment id carried in the mark (None: the first 16 bits of "
        "the provenance key id, or 0 when provenance is off).",
    )
