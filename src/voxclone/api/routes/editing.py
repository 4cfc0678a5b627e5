"""Audio editing (``POST /v1/audio/edit``): operations on an upload, a history item or a job's
audio; each result is a new history item (docs/editing.md).

The body is JSON (``{"source": {...}, "operations": [...], "format": ..., "sample_rate": ...}``)
or multipart: a ``file`` (the source unless a ``source`` field says otherwise), more files for
concat sources (``{"upload": "<field>"}``), and ``operations`` as a JSON string field. Both are
validated by the same schema, and their errors look alike (``operations.2.start_s``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.editing_schemas import EditRequestIn, EditResultPublic
from voxclone.api.history_schemas import HistoryItemPublic
from voxclone.api.routes.provenance import manifest_url
from voxclone.api.uploads import read_form, text_field
from voxclone.core.errors import AudioTooLarge, InvalidInput, MissingField
from voxclone.db.tables import HistoryItem
from voxclone.services.editing import EditResult

router = APIRouter(prefix="/v1/audio/edit", tags=["audio editing"])

_REFS = "#/paths/~1v1~1audio~1edit/post/requestBody/content/application~1json/schema/$defs/{model}"
"""The body is read by hand (JSON or multipart), so FastAPI does not list its models; the
schema's own ``$defs`` hold them, and its references point there from the document's root."""
_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": EditRequestIn.model_json_schema(ref_template=_REFS)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["operations"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "operations": {"type": "string", "description": "a JSON array"},
                        "source": {"type": "string", "description": "JSON; default: file"},
                        "format": {"type": "string"},
                        "sample_rate": {"type": "integer"},
                    },
                }
            },
        },
        "required": True,
    }
}


@router.post(
    "",
    status_code=201,
    response_model=EditResultPublic,
    responses={200: {"content": {"audio/wav": {}}, "description": "with download=true"}},
    openapi_extra=_BODY,
)
async def edit_audio(
    request: Request, services: ServicesDep, user: UserKey, download: bool = False
) -> Response | EditResultPublic:
    """Apply the operations; 201 with the new history item(s). With ``download=true`` (or
    ``Accept: audio/*``) the audio itself, 200, for an edit that makes one part."""
    if user.key_id is None:  # get_user refuses the admin key; this narrows the type
        raise InvalidInput("a user key is required")
    accept = request.headers.get("accept", "")
    single = download or ("audio/" in accept and "json" not in accept)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        max_bytes = services.settings.limits.max_speech_upload_bytes
        body, uploads = await _multipart(request, max_bytes=max_bytes)
    else:
        body, uploads = _json(await request.body()), {}
    edit = _validated(body)
    result = await services.editing.edit(key_id=user.key_id, plan=edit.plan(uploads), single=single)
    if single:
        return _audio(request, result)
    return EditResultPublic(items=[_public(request, item) for item in result.items])


def _public(request: Request, item: HistoryItem) -> HistoryItemPublic:
    url = str(request.url_for("history_audio", history_id=item.id))
    return HistoryItemPublic.of(item, audio_url=url, manifest_url=manifest_url(request, item.id))


def _audio(request: Request, result: EditResult) -> Response:
    item = result.items[0]
    headers = {
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "X-History-Id": item.id,
        "Content-Disposition": f'attachment; filename="edit-{item.id}.{result.format}"',
    }
    manifest = manifest_url(request, item.id)
    if manifest is not None:
        headers["X-Provenance-Manifest"] = manifest
    return Response(result.data, media_type=result.media_type, headers=headers)


def _json(raw: bytes) -> Any:
    if not raw.strip():
        raise MissingField("the body is empty: send JSON or multipart/form-data", field="body")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", field="body") from exc


async def _multipart(request: Request, *, max_bytes: int) -> tuple[Any, dict[str, bytes]]:
    """The form as the JSON body it stands for, and its files by field name (each at most
    ``max_bytes``, like any speech upload)."""
    form = await read_form(request, max_file_bytes=max_bytes, too_large=AudioTooLarge, field="file")
    try:
        uploads = await _files(form, max_bytes=max_bytes)
        operations = text_field(form, "operations")
        if operations is None:
            raise MissingField("operations is required (a JSON array)", field="operations")
        body: dict[str, Any] = {"operations": _field_json(operations, "operations")}
        source = text_field(form, "source")
        if source is not None and source.strip():
            body["source"] = _field_json(source, "source")
        elif "file" in uploads:
            body["source"] = {"upload": "file"}
        else:
            raise MissingField("send a file (or a source field)", field="file")
        for name in ("format", "sample_rate"):
            value = (text_field(form, name) or "").strip()
            if value:
                body[name] = value
        return body, uploads
    finally:
        await form.close()


async def _files(form: FormData, *, max_bytes: int) -> dict[str, bytes]:
    files = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            if len(data) > max_bytes:
                raise AudioTooLarge(
                    f"{name} is larger than the limit of {max_bytes} bytes",
                    field=name,
                    max_bytes=max_bytes,
                    received_bytes=len(data),
                )
            files[name] = data
    return files


def _field_json(value: str, field: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{field} is not valid JSON: {exc}", field=field) from exc


def _validated(body: Any) -> EditRequestIn:
    """The body checked by the schema; its errors are reported as FastAPI reports a body's."""
    try:
        return EditRequestIn.model_validate(body)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from exc
