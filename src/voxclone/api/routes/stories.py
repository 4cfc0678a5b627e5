"""Stories: ``/v1/stories`` with their tracks, clips, timeline, scripts, renders, archives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.schemas import INT32_MAX
from voxclone.api.story_schemas import (
    ClipFields,
    ClipPublic,
    RenderBody,
    ScriptFields,
    StoryCreate,
    StoryPublic,
    StorySummary,
    StoryUpdate,
    TimelineBody,
    TrackFields,
    TrackPublic,
)
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import (
    AudioTooLarge,
    JobNotReady,
    MissingField,
    PayloadTooLarge,
    Unprocessable,
)
from voxclone.services.keys import Principal
from voxclone.services.stories import StoryView
from voxclone.services.story_checks import flow_end

router = APIRouter(prefix="/v1/stories", tags=["stories"])
MULTIPART: dict[str, Any] = {
    "requestBody": {"content": {"multipart/form-data": {}, "application/json": {}}}
}


def key_of(user: Principal) -> str:
    assert user.key_id is not None  # UserKey refuses the admin key
    return user.key_id


def public(view: StoryView) -> StoryPublic:
    return StoryPublic(
        **StorySummary.of(view.story).model_dump(),
        settings=view.story.settings or {},
        duration_s=round(flow_end(view.clips), 3),
        tracks=[TrackPublic.of(t) for t in view.tracks],
        clips=[ClipPublic.of(c) for c in view.clips],
    )


def _clip_changes(body: ClipFields) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


# --- stories ---------------------------------------------------------------------------------


@router.post("", status_code=201, response_model=StoryPublic)
async def create_story(body: StoryCreate, services: ServicesDep, user: UserKey) -> StoryPublic:
    """A new story; with ``script`` and ``voices``, laid out from the script at once."""
    key_id = key_of(user)
    if body.script is not None:  # checked before the story exists: a refused script adds none
        services.stories.check_script(body.script, body.voices)
    view = await services.stories.create(
        key_id=key_id, name=body.name, description=body.description, settings=body.settings
    )
    if body.script is not None:
        try:
            view = await services.stories.import_script(
                key_id=key_id,
                story_id=view.story.id,
                script=body.script,
                voices=body.voices,
                gap_s=body.gap_s,
                pause_s=body.pause_s,
            )
        except BaseException:
            await services.stories.delete(key_id=key_id, story_id=view.story.id)
            raise
    return public(view)


@router.get("", response_model=list[StorySummary])
async def list_stories(
    services: ServicesDep,
    user: UserKey,
    limit: int = 100,
    offset: int = Query(0, le=INT32_MAX),
) -> list[StorySummary]:
    limit, offset = min(max(limit, 1), 500), max(offset, 0)
    stories = await services.stories.list_stories(key_id=key_of(user), limit=limit, offset=offset)
    return [StorySummary.of(s) for s in stories]


@router.post("/import", status_code=201, response_model=StoryPublic)
async def import_story(request: Request, services: ServicesDep, user: UserKey) -> StoryPublic:
    """A project archive (multipart file ``archive``) from GET /v1/stories/{id}/export."""
    limit = services.settings.stories.max_archive_bytes
    form = await read_form(
        request, max_file_bytes=limit, too_large=PayloadTooLarge, field="archive"
    )
    try:
        data = await read_upload(form, "archive")
    finally:
        await form.close()
    if data is None:
        raise MissingField("archive (a file) is required", field="archive")
    view = await services.story_archives.import_(key_id=key_of(user), data=data)
    return public(view)


@router.get("/{story_id}", response_model=StoryPublic)
async def get_story(story_id: str, services: ServicesDep, user: UserKey) -> StoryPublic:
    return public(await services.stories.get(key_id=key_of(user), story_id=story_id))


@router.patch("/{story_id}", response_model=StoryPublic)
async def update_story(
    story_id: str, body: StoryUpdate, services: ServicesDep, user: UserKey
) -> StoryPublic:
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Unprocessable("name cannot be cleared", field="name")
    view = await services.stories.update(key_id=key_of(user), story_id=story_id, changes=changes)
    return public(view)


@router.delete("/{story_id}", status_code=204)
async def delete_story(story_id: str, services: ServicesDep, user: UserKey) -> Response:
    await services.stories.delete(key_id=key_of(user), story_id=story_id)
    return Response(status_code=204)


@router.post("/{story_id}/script", response_model=StoryPublic)
async def import_script(
    story_id: str, body: ScriptFields, services: ServicesDep, user: UserKey
) -> StoryPublic:
    """Lay a script out after the story's clips: one track per speaker, one text clip per line."""
    view = await services.stories.import_script(
        key_id=key_of(user),
        story_id=story_id,
        script=body.script,
        voices=body.voices,
        gap_s=body.gap_s,
        pause_s=body.pause_s,
        params={"backend": body.backend, "lang": body.lang, "speed": body.speed, "seed": body.seed},
    )
    return public(view)


@router.patch("/{story_id}/timeline", response_model=StoryPublic)
async def edit_timeline(
    story_id: str, body: TimelineBody, services: ServicesDep, user: UserKey
) -> StoryPublic:
    """Move, retrack and trim several clips in one go: all of it, or (on any error) none."""
    edits = [edit.model_dump(exclude_unset=True) for edit in body.clips]
    view = await services.stories.edit_timeline(key_id=key_of(user), story_id=story_id, edits=edits)
    return public(view)


# --- tracks ----------------------------------------------------------------------------------


@router.post("/{story_id}/tracks", status_code=201, response_model=TrackPublic)
async def add_track(
    story_id: str, body: TrackFields, services: ServicesDep, user: UserKey
) -> TrackPublic:
    fields = body.model_dump(exclude_unset=True)
    track = await services.stories.add_track(key_id=key_of(user), story_id=story_id, fields=fields)
    return TrackPublic.of(track)


@router.get("/{story_id}/tracks/{track_id}", response_model=TrackPublic)
async def get_track(
    story_id: str, track_id: str, services: ServicesDep, user: UserKey
) -> TrackPublic:
    track = await services.stories.get_track(
        key_id=key_of(user), story_id=story_id, track_id=track_id
    )
    return TrackPublic.of(track)


@router.patch("/{story_id}/tracks/{track_id}", response_model=TrackPublic)
async def update_track(
    story_id: str, track_id: str, body: TrackFields, services: ServicesDep, user: UserKey
) -> TrackPublic:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    track = await services.stories.update_track(
        key_id=key_of(user), story_id=story_id, track_id=track_id, changes=changes
    )
    return TrackPublic.of(track)


@router.delete("/{story_id}/tracks/{track_id}", status_code=204)
async def delete_track(
    story_id: str, track_id: str, services: ServicesDep, user: UserKey
) -> Response:
    await services.stories.delete_track(key_id=key_of(user), story_id=story_id, track_id=track_id)
    return Response(status_code=204)


# --- clips -----------------------------------------------------------------------------------


@router.post("/{story_id}/clips", status_code=201, openapi_extra=MULTIPART)
async def add_clip(
    story_id: str, request: Request, services: ServicesDep, user: UserKey
) -> ClipPublic:
    """JSON (``ClipFields``): a text or history clip. Multipart: file ``audio`` (uploaded
    audio) with the other fields as form fields."""
    audio: bytes | None = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        limit = services.settings.stories.max_upload_bytes
        form = await read_form(
            request, max_file_bytes=limit, too_large=AudioTooLarge, field="audio"
        )
        try:
            audio = await read_upload(form, "audio")
            values = {k: text_field(form, k) for k in form if k != "audio"}
        finally:
            await form.close()
        if audio is None:
            raise MissingField("audio (a file) is required for an uploaded clip", field="audio")
        body = _validated(values)
    else:
        body = _validated(await request.body(), json=True)
    clip = await services.stories.add_clip(
        key_id=key_of(user), story_id=story_id, fields=_clip_changes(body), audio=audio
    )
    return ClipPublic.of(clip)


def _validated(data: Any, *, json: bool = False) -> ClipFields:
    try:
        if json:
            return ClipFields.model_validate_json(data or b"{}")
        return ClipFields.model_validate({k: v for k, v in data.items() if v not in (None, "")})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


@router.get("/{story_id}/clips/{clip_id}", response_model=ClipPublic)
async def get_clip(story_id: str, clip_id: str, services: ServicesDep, user: UserKey) -> ClipPublic:
    clip = await services.stories.get_clip(key_id=key_of(user), story_id=story_id, clip_id=clip_id)
    return ClipPublic.of(clip)


@router.patch("/{story_id}/clips/{clip_id}", response_model=ClipPublic)
async def update_clip(
    story_id: str, clip_id: str, body: ClipFields, services: ServicesDep, user: UserKey
) -> ClipPublic:
    clip = await services.stories.update_clip(
        key_id=key_of(user), story_id=story_id, clip_id=clip_id, changes=_clip_changes(body)
    )
    return ClipPublic.of(clip)


@router.delete("/{story_id}/clips/{clip_id}", status_code=204)
async def delete_clip(
    story_id: str, clip_id: str, services: ServicesDep, user: UserKey
) -> Response:
    await services.stories.delete_clip(key_id=key_of(user), story_id=story_id, clip_id=clip_id)
    return Response(status_code=204)


# --- renders and exports ---------------------------------------------------------------------


@router.post("/{story_id}/render", status_code=202)
async def render_story(
    story_id: str, body: RenderBody, services: ServicesDep, user: UserKey
) -> JSONResponse:
    """Queue a render: poll GET /v1/jobs/{job_id}; its audio is the mixed story."""
    callback_url = await services.webhooks.check_callback_url(body.callback_url)
    job = await services.story_renderer.request(
        caller=user,
        key_id=key_of(user),
        story_id=story_id,
        asked=body.model_dump(exclude_unset=True, exclude={"callback_url"}),
        callback_url=callback_url,
    )
    return JSONResponse(
        {"job_id": job.id, "status": job.status},
        status_code=202,
        headers={"Location": f"/v1/jobs/{job.id}"},
    )


@router.get("/{story_id}/audio")
async def story_audio(story_id: str, services: ServicesDep, user: UserKey) -> StreamingResponse:
    """The audio of the story's last finished render (404 before there is one)."""
    key_id = key_of(user)
    view = await services.stories.get(key_id=key_id, story_id=story_id)
    job_id = view.story.last_render_job_id
    if job_id is None:
        raise JobNotReady(f"story {view.story.id} has not been rendered yet", story_id=story_id)
    audio = await services.jobs.audio(key_id=key_id, job_id=job_id)
    headers = {"X-Job-Id": job_id, "Content-Length": str(audio.size)}
    return StreamingResponse(audio.chunks, media_type=audio.media_type, headers=headers)


@router.get("/{story_id}/renders/{job_id}/stems/{track_id}")
async def story_stem(
    story_id: str, job_id: str, track_id: str, services: ServicesDep, user: UserKey
) -> Response:
    data, media = await services.story_renderer.stem(
        key_id=key_of(user), story_id=story_id, job_id=job_id, track_id=track_id
    )
    return Response(content=data, media_type=media)


@router.get("/{story_id}/export")
async def export_story(story_id: str, services: ServicesDep, user: UserKey) -> Response:
    """The story as a project archive (zip: story.json and the clips' audio)."""
    name, data = await services.story_archives.export(key_id=key_of(user), story_id=story_id)
    return Response(
        content=data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
