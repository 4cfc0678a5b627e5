"""Multipart uploads read with a size limit enforced while the body streams in.

FastAPI's ``UploadFile`` parameters parse the whole body before the handler runs; for uploads
with a limit, routes call ``read_form`` instead, which stops reading as soon as the body passes
the limit and never spools more than that to disk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from voxclone.core.errors import InvalidInput, VoxcloneError
from voxclone.services.reference_fetch import ReferenceFetcher

FIELD_SLACK = 256 * 1024
"""Room for the other form fields and the multipart framing on top of the file limit."""


async def read_form(
    request: Request, *, max_file_bytes: int, too_large: type[VoxcloneError], field: str
) -> FormData:
    content_type = request.headers.get("content-type", "")
    urlencoded = content_type.startswith("application/x-www-form-urlencoded")
    if not content_type.startswith("multipart/form-data") and not urlencoded:
        raise InvalidInput(
            "this endpoint takes multipart/form-data", content_type=content_type or None
        )
    limit = max_file_bytes + FIELD_SLACK

    def refuse(size: int) -> VoxcloneError:
        return too_large(
            f"{field} is larger than the limit of {max_file_bytes} bytes",
            field=field,
            max_bytes=max_file_bytes,
            received_bytes=size,
        )

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise refuse(int(declared))

    async def limited() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise refuse(seen)
            yield chunk

    if urlencoded:  # no file, only fields (a reference_audio_url instead of an upload)
        return await FormParser(request.headers, limited()).parse()
    parser = MultiPartParser(request.headers, limited(), max_files=4, max_fields=50)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"malformed multipart body: {exc.message}") from exc
    upload = form.get(field)
    if isinstance(upload, UploadFile) and upload.size is not None and upload.size > max_file_bytes:
        await form.close()
        raise refuse(upload.size)
    return form


async def read_upload(form: FormData, field: str) -> bytes | None:
    """The bytes of file field ``field``, or None when it is absent or not a file."""
    value = form.get(field)
    if not isinstance(value, UploadFile):
        return None
    return await value.read()


def text_field(form: FormData, field: str) -> str | None:
    value = form.get(field)
    if value is None or isinstance(value, UploadFile):
        return None
    return value


async def upload_or_url(
    form: FormData, *, fetcher: ReferenceFetcher, file_field: str, url_field: str, max_bytes: int
) -> bytes | None:
    """The bytes of file ``file_field``, or fetched from the URL in text field ``url_field``
    (the same size cap); None when neither is given, InvalidInput when both are."""
    url = (text_field(form, url_field) or "").strip()
    if file_field in form and url:
        raise InvalidInput(
            f"give either {file_field} (a file) or {url_field}, not both", field=url_field
        )
    if url:
        return await fetcher.fetch(url, field=url_field, max_bytes=max_bytes)
    return await read_upload(form, file_field)
