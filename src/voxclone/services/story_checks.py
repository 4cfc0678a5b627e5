"""Checks of a story's clips and bounds, shared by editing, script import and archives.

Pure: each raises ``Unprocessable`` (422) with the offending value and the limit, or returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voxclone.config import LimitSettings, StorySettings
from voxclone.core.errors import Unprocessable
from voxclone.db.tables import StoryClip
from voxclone.services.story_script import Timing, estimate_s

CLIP_KINDS = ("text", "history", "upload")


def kind_of(fields: Mapping[str, Any]) -> str:
    """text (``text`` and ``voice_id``) or history (``history_id``), from the fields given."""
    if fields.get("history_id") is not None:
        if fields.get("text") is not None:
            raise Unprocessable("a clip has either text or a history_id, not both", field="text")
        return "history"
    if fields.get("text") is None:
        raise Unprocessable(
            "a clip needs text and a voice_id, a history_id, or uploaded audio", field="text"
        )
    return "text"


def check_text(text: Any, limits: LimitSettings) -> str:
    if not isinstance(text, str) or not text.strip():
        raise Unprocessable("a text clip needs some text", field="text")
    if len(text) > limits.max_text_chars:
        raise Unprocessable(
            f"clip text is {len(text)} characters; the limit is {limits.max_text_chars}",
            field="text",
            max_chars=limits.max_text_chars,
        )
    return text.strip()


def clip_length(clip: StoryClip) -> float:
    """Seconds the clip lasts on the timeline (estimated for text not yet synthesized)."""
    if clip.duration_s is not None:
        source = clip.duration_s
    else:
        source = estimate_s(clip.text or "", speed=float((clip.params or {}).get("speed", 1.0)))
    end = source if clip.trim_out_s is None else min(clip.trim_out_s, source)
    return max(0.0, end - clip.trim_in_s)


def timing_of(clip: StoryClip) -> Timing:
    gap = (clip.params or {}).get("flow_gap_s")
    return Timing(
        clip_id=clip.id,
        start_s=clip.start_s,
        length_s=clip_length(clip),
        flow_gap_s=None if gap is None else float(gap),
    )


def flow_end(clips: Sequence[StoryClip]) -> float:
    """Where a script appended to the story starts: the end of its last clip."""
    return max((c.start_s + clip_length(c) for c in clips), default=0.0)


def check_clip(clip: StoryClip) -> None:
    if clip.kind == "text" and (not clip.text or not clip.voice_id):
        raise Unprocessable("a text clip needs text and a voice_id", field="voice_id")
    if clip.kind == "history" and not clip.history_id:
        raise Unprocessable("a history clip needs a history_id", field="history_id")
    for field in ("start_s", "trim_in_s", "fade_in_s", "fade_out_s"):
        value = getattr(clip, field)
        if value is None or value < 0:
            raise Unprocessable(f"{field} must not be negative, got {value}", field=field)
    if clip.trim_out_s is not None and clip.trim_out_s <= clip.trim_in_s:
        raise Unprocessable(
            f"trim_out_s ({clip.trim_out_s}) must be after trim_in_s ({clip.trim_in_s})",
            field="trim_out_s",
        )
    if clip.duration_s is not None and clip.trim_in_s >= clip.duration_s:
        raise Unprocessable(
            f"trim_in_s ({clip.trim_in_s}) is past the clip's end ({clip.duration_s:.3f} s)",
            field="trim_in_s",
        )
    if not -60.0 <= clip.gain_db <= 24.0:
        raise Unprocessable(f"gain_db must be within -60..24, got {clip.gain_db}", field="gain_db")


def check_tracks(count: int, settings: StorySettings) -> None:
    if count > settings.max_tracks:
        raise Unprocessable(
            f"a story may have at most {settings.max_tracks} tracks; this would make {count}",
            field="tracks",
            max_tracks=settings.max_tracks,
        )


def check_bounds(clips: Sequence[StoryClip], *, tracks: int, settings: StorySettings) -> None:
    check_tracks(tracks, settings)
    if len(clips) > settings.max_clips:
        raise Unprocessable(
            f"a story may have at most {settings.max_clips} clips; this would make {len(clips)}",
            field="clips",
            max_clips=settings.max_clips,
        )
    check_length(flow_end(clips), settings)


def check_length(length_s: float, settings: StorySettings) -> None:
    if length_s > settings.max_length_s:
        raise Unprocessable(
            f"the story would last {length_s:.1f} s; the limit is {settings.max_length_s:g} s",
            field="start_s",
            length_s=round(length_s, 3),
            max_length_s=settings.max_length_s,
        )


def check_script_length(script: str, settings: StorySettings) -> None:
    if len(script) > settings.max_script_chars:
        raise Unprocessable(
            f"the script is {len(script)} characters; the limit is {settings.max_script_chars}",
            field="script",
            max_chars=settings.max_script_chars,
        )


def cast_of(speakers: Sequence[str], voices: Mapping[str, str]) -> dict[str, str]:
    """Each speaker's voice id from ``voices`` (exact name, else ignoring case); 422 listing
    every speaker without one."""
    folded = {name.strip().casefold(): voice for name, voice in voices.items()}
    cast: dict[str, str] = {}
    unknown: list[str] = []
    for speaker in dict.fromkeys(speakers):
        voice = voices.get(speaker) or folded.get(speaker.casefold())
        if voice is None:
            unknown.append(speaker)
        else:
            cast[speaker] = voice
    if unknown:
        raise Unprocessable(
            f"no voice given for: {', '.join(unknown)} (add them to voices)",
            field="voices",
            unknown=unknown,
        )
    return cast
