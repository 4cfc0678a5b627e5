"""How voxclone runs: jobs, Celery workers, S3 storage, metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class JobSettings(BaseModel):
    workers: int = Field(1, ge=1, description="In-process job workers (concurrent syntheses).")
    max_attempts: int = Field(
        3, ge=1, description="A job interrupted this many times (restarts) is marked failed."
    )
    lease_s: float = Field(
        60.0,
        gt=0,
        description="A running job whose worker has not renewed its lease (heartbeat) for this "
        "long is presumed dead, and another worker may claim it.",
    )
    heartbeat_s: float = Field(
        10.0, gt=0, description="How often a worker renews the lease of the job it runs."
    )
    sweep_s: float = Field(
        15.0,
        gt=0,
        description="Distributed mode: how often API hosts look for jobs the queue lost "
        "(Redis restarted, a worker died) and re-enqueue them from the database.",
    )
    requeue_after_s: float = Field(
        10.0,
        ge=0,
        description="Distributed mode: a pending job at least this old that the queue does not "
        "hold is re-enqueued by the sweep.",
    )

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> JobSettings:
        if self.heartbeat_s * 2 > self.lease_s:
            raise ValueError(
                f"jobs.heartbeat_s ({self.heartbeat_s}) must be at most half of jobs.lease_s "
                f"({self.lease_s}), or live jobs would look abandoned"
            )
        return self


class WorkerSettings(BaseModel):
    """``voxclone worker``: Celery workers on Redis (``VOXCLONE_QUEUE=celery``)."""

    concurrency: int = Field(
        1, ge=1, description="Jobs one worker runs at once: one process each, engines in each."
    )
    queue_name: str = Field(
        "voxclone",
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="The Celery queue (a Redis list) that API hosts fill and workers drain.",
    )
    visibility_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Redis redelivers a job message that a worker took but never acknowledged "
        "(the worker died) after this long; must be longer than jobs.lease_s.",
    )
    preload: bool = Field(True, description="Load the default engine when a worker process starts.")


class S3Settings(BaseModel):
    """Credentials and endpoint for ``VOXCLONE_STORAGE_URL=s3://bucket/prefix``."""

    endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, Ceph...); unset: AWS for the region."
    )
    region: str = Field("us-east-1", description="Region of the bucket.")
    access_key_id: SecretStr | None = Field(
        None, description="Access key; unset: boto3's usual credential chain."
    )
    secret_access_key: SecretStr | None = Field(None, description="Secret key.")
    addressing_style: Literal["auto", "path", "virtual"] | None = Field(
        None, description="Bucket in the path or the host name; unset: path with an endpoint_url."
    )


class MetricsSettings(BaseModel):
    """``GET /metrics``: Prometheus metrics of this process (one API host)."""

    enabled: bool = Field(True, description="Serve GET /metrics (false: 404).")
    token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs `Authorization: Bearer <token>` (else 401).",
    )
