"""Input limits."""

from __future__ import annotations

from pydantic import BaseModel, Field

MB = 1024 * 1024


class LimitSettings(BaseModel):
    """Input limits (DESIGN.md, "Input limits")."""

    min_text_chars: int = Field(1, ge=1, description="Shortest text accepted for synthesis.")
    max_text_chars: int = Field(5000, ge=1, description="Longest text accepted for synthesis.")
    max_output_audio_s: float = Field(
        900.0,
        gt=0,
        description="Most seconds of audio one synthesis may make. Refused up front when the "
        "text at its speed would clearly pass it (estimate_chars_per_s), and stopped while "
        "synthesizing when it does.",
    )
    estimate_chars_per_s: float = Field(
        10.0,
        gt=0,
        description="Characters of text per second of speech at speed 1, for the up-front "
        "estimate (a slow reading: real speech is 12-16).",
    )
    max_concurrent_heavy_per_key: int = Field(
        4,
        ge=0,
        description="Heavy requests one key may run at once: syntheses that miss the cache, "
        "transcriptions, denoises, voice fits; one more gets 429 with Retry-After (counted on "
        "Redis across hosts when rate limits are). Cache hits do not count; 0: no limit.",
    )
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
    oneshot_fit_wait_s: float = Field(
        0.0,
        ge=0,
        description="How long POST /api/v1/voice/synthesize waits for a slow fit (Kokoro's) "
        "before speaking with the stock voice nearest to the clip; the fit goes on in the "
        "background and serves the same clip from then on (X-Voice-Prompt says which).",
    )
    oneshot_prompt_cache_entries: int = Field(
        256,
        ge=0,
        description="One-shot voice prompts kept in memory per process, by key, engine version "
        "and the clip's SHA-256 (0: none; every call fits again).",
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
    max_sync_speech_audio_s: float = Field(
        300.0,
        gt=0,
        description="Longest audio transcribed or denoised inside the request. Longer audio "
        "(up to max_speech_audio_s) is stored and run as a job: POST /v1/transcribe and "
        "/v1/audio/denoise answer 202 with the job; OpenAI's /v1/audio/transcriptions and "
        "/translations answer 413 unless the client sends Prefer: respond-async.",
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
