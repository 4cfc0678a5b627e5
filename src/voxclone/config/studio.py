"""Generation history and stories."""

from __future__ import annotations

from pydantic import BaseModel, Field

from voxclone.config.limits import MB


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


class WebStudioSettings(BaseModel):
    """The web studio served at ``/`` (docs/studio.md)."""

    enabled: bool = Field(True, description="Serve the studio at / (false: the API only).")
    session_max_age_s: int = Field(
        12 * 3600, ge=60, description="How long a studio sign-in lasts before asking again."
    )
    secure_cookie: bool = Field(
        False,
        description="Mark the session cookie Secure (set true behind HTTPS; browsers then never "
        "send it over plain HTTP).",
    )
