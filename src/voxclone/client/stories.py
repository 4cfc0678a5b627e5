"""Multi-voice stories: create (from a script), tracks, clips, render, audio, archives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.models import Audio, JobQueued, Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op

BASE = "/v1/stories"


class Track(Model):
    track_id: str
    name: str
    position: int
    gain_db: float
    muted: bool


class Clip(Model):
    clip_id: str
    track_id: str
    kind: str
    start_s: float
    end_s: float
    text: str | None = None
    voice_id: str | None = None
    history_id: str | None = None
    params: dict[str, Any] = {}
    duration_s: float | None = None
    rendered: bool = False


class StorySummary(Model):
    story_id: str
    name: str
    description: str | None = None
    last_render_job_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Story(StorySummary):
    settings: dict[str, Any] = {}
    duration_s: float = 0.0
    tracks: list[Track] = []
    clips: list[Clip] = []


def _fields(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def create(
    name: str,
    *,
    description: str | None = None,
    settings: dict[str, Any] | None = None,
    script: str | None = None,
    voices: dict[str, str] | None = None,
    gap_s: float | None = None,
    pause_s: float | None = None,
) -> Op[Story]:
    """A story; with ``script`` (``NAME: line`` per paragraph) and ``voices`` (speaker name →
    voice id), laid out at once, one track per speaker."""
    body = _fields(
        name=name,
        description=description,
        settings=settings,
        script=script,
        voices=voices,
        gap_s=gap_s,
        pause_s=pause_s,
    )
    return c.model(Call("POST", BASE, json=body), Story)


def list_(*, limit: int | None = None, offset: int | None = None) -> Op[list[StorySummary]]:
    return c.models(Call("GET", BASE, params={"limit": limit, "offset": offset}), StorySummary)


def get(story_id: str) -> Op[Story]:
    return c.model(Call("GET", f"{BASE}/{story_id}"), Story)


def update(story_id: str, **changes: Any) -> Op[Story]:
    return c.model(Call("PATCH", f"{BASE}/{story_id}", json=changes), Story)


def delete(story_id: str) -> Op[None]:
    return c.nothing(Call("DELETE", f"{BASE}/{story_id}"))


def script(story_id: str, script: str, voices: dict[str, str], **options: Any) -> Op[Story]:
    """Lay out a script on the story (``gap_s``, ``pause_s``, ``backend``, ``lang``...)."""
    body = {"script": script, "voices": voices, **_fields(**options)}
    return c.model(Call("POST", f"{BASE}/{story_id}/script", json=body), Story)


def add_track(story_id: str, **fields: Any) -> Op[Track]:
    """``name``, ``position``, ``gain_db``, ``muted``."""
    return c.model(Call("POST", f"{BASE}/{story_id}/tracks", json=_fields(**fields)), Track)


def update_track(story_id: str, track_id: str, **changes: Any) -> Op[Track]:
    return c.model(Call("PATCH", f"{BASE}/{story_id}/tracks/{track_id}", json=changes), Track)


def delete_track(story_id: str, track_id: str) -> Op[None]:
    return c.nothing(Call("DELETE", f"{BASE}/{story_id}/tracks/{track_id}"))


def add_clip(story_id: str, *, audio: FileInput | None = None, **fields: Any) -> Op[Clip]:
    """A text clip (``text``, ``voice_id``), a history clip (``history_id``) or, with
    ``audio``, an uploaded one; ``track_id``, ``start_s``, ``gain_db``, fades..."""
    path = f"{BASE}/{story_id}/clips"
    if audio is None:
        return c.model(Call("POST", path, json=_fields(**fields)), Clip)
    call = Call("POST", path, data=c.form(**fields), files={"audio": c.upload(audio)})
    return c.model(call, Clip)


def update_clip(story_id: str, clip_id: str, **changes: Any) -> Op[Clip]:
    return c.model(Call("PATCH", f"{BASE}/{story_id}/clips/{clip_id}", json=changes), Clip)


def delete_clip(story_id: str, clip_id: str) -> Op[None]:
    return c.nothing(Call("DELETE", f"{BASE}/{story_id}/clips/{clip_id}"))


def render(
    story_id: str,
    *,
    format: str | None = None,
    sample_rate: int | None = None,
    stems: bool | None = None,
    target_lufs: float | None = None,
    callback_url: str | None = None,
) -> Op[JobQueued]:
    """Queue a render; ``jobs.wait`` it, then ``audio(story_id)`` (or the job's audio)."""
    body = _fields(
        format=format,
        sample_rate=sample_rate,
        stems=stems,
        target_lufs=target_lufs,
        callback_url=callback_url,
    )
    return c.model(Call("POST", f"{BASE}/{story_id}/render", json=body), JobQueued)


def audio(story_id: str) -> Op[Audio]:
    """The audio of the story's last finished render."""
    response = yield from c.send(Call("GET", f"{BASE}/{story_id}/audio"))
    return Audio.of(response)


def export(story_id: str) -> Op[bytes]:
    return c.content(Call("GET", f"{BASE}/{story_id}/export"))


def import_(archive: FileInput) -> Op[Story]:
    files = {"archive": c.upload(archive, default_name="story.zip")}
    return c.model(Call("POST", f"{BASE}/import", files=files, timeout=300), Story)


class Stories(SyncResource):
    create = sync_op(create)
    list = sync_op(list_)
    get = sync_op(get)
    update = sync_op(update)
    delete = sync_op(delete)
    script = sync_op(script)
    add_track = sync_op(add_track)
    update_track = sync_op(update_track)
    delete_track = sync_op(delete_track)
    add_clip = sync_op(add_clip)
    update_clip = sync_op(update_clip)
    delete_clip = sync_op(delete_clip)
    render = sync_op(render)
    audio = sync_op(audio)
    export = sync_op(export)
    import_ = sync_op(import_)


class AsyncStories(AsyncResource):
    create = async_op(create)
    list = async_op(list_)
    get = async_op(get)
    update = async_op(update)
    delete = async_op(delete)
    script = async_op(script)
    add_track = async_op(add_track)
    update_track = async_op(update_track)
    delete_track = async_op(delete_track)
    add_clip = async_op(add_clip)
    update_clip = async_op(update_clip)
    delete_clip = async_op(delete_clip)
    render = async_op(render)
    audio = async_op(audio)
    export = async_op(export)
    import_ = async_op(import_)
