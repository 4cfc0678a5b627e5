"""The one Settings object: every section, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from voxclone.config.accounts import (
    BillingSettings,
    CallbackSettings,
    QuotaSettings,
    WebhookSettings,
)
from voxclone.config.deployment import JobSettings, MetricsSettings, S3Settings, WorkerSettings
from voxclone.config.engines import (
    BiometricsSettings,
    DeepFilterSettings,
    EngineCacheSettings,
    KokoroSettings,
    PiperSettings,
    RemoteSettings,
    WhisperSettings,
)
from voxclone.config.limits import LimitSettings
from voxclone.config.realtime import AgentSettings, RealtimeSettings
from voxclone.config.studio import HistorySettings, StorySettings, WebStudioSettings
from voxclone.config.trust import ConsentSettings, ProvenanceSettings, WatermarkSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOXCLONE_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    env: Literal["development", "production", "test"] = Field(
        "development", description="production refuses weak admin keys."
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Field(Path("./data"), description="Database, audio and generated secrets.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_s: int = Field(
        30,
        ge=0,
        description="On SIGTERM: stop accepting, give requests in flight this long to finish, "
        "then hand running jobs back (pending again) and exit.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="json: one JSON object per log line (request log fields as keys), for a "
        "log shipper.",
    )
    admin_key: SecretStr | None = Field(
        None, description="Admin key; generated into DATA_DIR/admin_key on first start if unset."
    )
    api_key: SecretStr | None = Field(
        None, description="The user key (vx_...) the CLI acts as for voices and say."
    )
    auth_cache_s: float = Field(
        5.0,
        ge=0,
        description="How long an API host trusts a key it has checked before asking the "
        "database again; a key revoked on another host stops working within this time. 0: never.",
    )
    workers: int = Field(
        1,
        ge=1,
        description="API processes `voxclone serve` runs on its port (`--workers`). Past 1, "
        "the embedded mode's job runners share jobs the way distributed hosts do (leases and "
        "a sweep); rate limits are per process unless they are kept on Redis.",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default sqlite+aiosqlite in the data dir."
    )
    storage_url: str | None = Field(
        None, description="Where audio blobs go; default file://DATA_DIR/blobs."
    )
    queue: Literal["inprocess", "celery"] = Field(
        "inprocess",
        description="Job dispatch: inprocess (this process runs jobs) or celery (Redis and "
        "`voxclone worker` processes).",
    )
    redis_url: str | None = Field(
        None, description="Redis for the Celery queue, e.g. redis://127.0.0.1:6379/0."
    )
    engines_file: Path | None = Field(None, description="TOML file declaring extra engines.")
    default_backend: str = Field(
        "local",
        description="TTS engine used when none is named (local: Kokoro fitted to the voice).",
    )
    default_stt_backend: str = Field(
        "whisper",
        description="Speech-to-text engine used when none is named (POST /v1/audio/transcriptions "
        "with model whisper-1, /v1/transcribe, voice references without ref_text).",
    )
    auto_transcribe_references: bool = Field(
        True,
        description="Transcribe a voice's reference clip with the default STT engine when no "
        "ref_text is given (stored with ref_text_auto=true).",
    )
    cors_origins: list[str] = Field(default_factory=list)
    cache_enabled: bool = Field(
        True, description="Serve repeated syntheses from the cache (false: always synthesize)."
    )
    tts_mode: Literal["local", "remote"] = Field(
        "local",
        description="remote: an engine called 'remote' on TTS_REMOTE_URL (a provider server) "
        "becomes the default backend, so no local model is needed.",
    )
    tts_remote_url: str | None = Field(
        None, description="Provider server(s) for tts_mode=remote; several: comma-separated."
    )
    tts_api_key: SecretStr | None = Field(None, description="X-API-Key for TTS_REMOTE_URL.")
    whisper_mode: Literal["local", "remote", "openai-api"] = Field(
        "local",
        description="Speech to text (the engine 'whisper'): local, remote (a provider server's "
        "/v1/transcribe on WHISPER_REMOTE_URL) or openai-api (/v1/audio/transcriptions).",
    )
    whisper_remote_url: str | None = Field(
        None, description="Server for whisper_mode=remote, or an OpenAI-compatible one."
    )
    openai_api_key: SecretStr | None = Field(
        None, description="Bearer key for whisper_mode=openai-api."
    )
    provider_api_key: SecretStr | None = Field(
        None, description="X-API-Key that `voxclone provider serve` asks for (--api-key default)."
    )

    limits: LimitSettings = Field(default_factory=LimitSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    piper: PiperSettings = Field(default_factory=PiperSettings)
    kokoro: KokoroSettings = Field(default_factory=KokoroSettings)
    whisper: WhisperSettings = Field(default_factory=WhisperSettings)
    engines: EngineCacheSettings = Field(default_factory=EngineCacheSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    remote: RemoteSettings = Field(default_factory=RemoteSettings)
    deepfilter: DeepFilterSettings = Field(default_factory=DeepFilterSettings)
    biometrics: BiometricsSettings = Field(default_factory=BiometricsSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    stories: StorySettings = Field(default_factory=StorySettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    studio: WebStudioSettings = Field(default_factory=WebStudioSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)
    watermark: WatermarkSettings = Field(default_factory=WatermarkSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)

    @model_validator(mode="after")
    def _distributed_settings_agree(self) -> Settings:
        if self.queue == "celery" and not self.redis_url:
            raise ValueError("VOXCLONE_QUEUE=celery needs VOXCLONE_REDIS_URL")
        if self.worker.visibility_timeout_s <= self.jobs.lease_s:
            raise ValueError(
                f"worker.visibility_timeout_s ({self.worker.visibility_timeout_s}) must be longer "
                f"than jobs.lease_s ({self.jobs.lease_s}): a message redelivered before the lease "
                "expires finds the job still held and is dropped"
            )
        return self

    @model_validator(mode="after")
    def _remote_modes_are_complete(self) -> Settings:
        if self.tts_mode == "remote":
            if not self.tts_remote_url:
                raise ValueError("VOXCLONE_TTS_MODE=remote needs VOXCLONE_TTS_REMOTE_URL")
            if "default_backend" not in self.model_fields_set:
                self.default_backend = "remote"
        if self.whisper_mode == "remote" and not self.whisper_remote_url:
            raise ValueError("VOXCLONE_WHISPER_MODE=remote needs VOXCLONE_WHISPER_REMOTE_URL")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'voxclone.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.data_dir / "blobs").resolve().as_uri()
