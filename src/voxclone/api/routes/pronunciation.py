"""Per-key pronunciation dictionaries: create from rules or a PLS file, list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from voxclone.api.deps import ServicesDep, UserKey
from voxclone.api.pronunciation_schemas import DictionaryCreate, DictionaryList, DictionaryPublic
from voxclone.api.uploads import read_form, read_upload, text_field
from voxclone.core.errors import MissingField, PayloadTooLarge

router = APIRouter(prefix="/v1/pronunciation-dictionaries", tags=["pronunciation"])
MAX_PLS_BYTES = 1024 * 1024


def _key(user: UserKey) -> str:
    assert user.key_id is not None
    return user.key_id


@router.post("", status_code=201, response_model=DictionaryPublic)
@router.post("/add-from-rules", status_code=201, response_model=DictionaryPublic)
async def create(body: DictionaryCreate, services: ServicesDep, user: UserKey) -> DictionaryPublic:
    """A dictionary of alias and phoneme rules (ElevenLabs' ``add-from-rules``)."""
    row = await services.pronunciation.create(
        key_id=_key(user),
        name=body.name,
        description=body.description,
        rules=[rule.model_dump(exclude_none=True) for rule in body.rules],
    )
    return DictionaryPublic.of(row)


@router.post("/add-from-file", status_code=201, response_model=DictionaryPublic)
async def add_from_file(request: Request, services: ServicesDep, user: UserKey) -> DictionaryPublic:
    """A dictionary from a W3C PLS lexicon (multipart: ``name``, ``file``, ``description``)."""
    form = await read_form(
        request, max_file_bytes=MAX_PLS_BYTES, too_large=PayloadTooLarge, field="file"
    )
    try:
        data = await read_upload(form, "file")
        name = text_field(form, "name")
        description = text_field(form, "description")
    finally:
        await form.close()
    if data is None:
        raise MissingField("file is required (a PLS lexicon, .pls XML)", field="file")
    if not name:
        raise MissingField("name is required", field="name")
    row = await services.pronunciation.create_from_pls(
        key_id=_key(user), name=name, data=data, description=description
    )
    return DictionaryPublic.of(row)


@router.get("", response_model=DictionaryList)
async def list_dictionaries(services: ServicesDep, user: UserKey) -> DictionaryList:
    rows = await services.pronunciation.list(key_id=_key(user))
    return DictionaryList(pronunciation_dictionaries=[DictionaryPublic.of(r) for r in rows])


@router.get("/{dictionary_id}", response_model=DictionaryPublic)
async def get_dictionary(
    dictionary_id: str, services: ServicesDep, user: UserKey
) -> DictionaryPublic:
    row = await services.pronunciation.get(key_id=_key(user), dictionary_id=dictionary_id)
    return DictionaryPublic.of(row)


@router.delete("/{dictionary_id}", status_code=204)
async def delete_dictionary(dictionary_id: str, services: ServicesDep, user: UserKey) -> Response:
    await services.pronunciation.delete(key_id=_key(user), dictionary_id=dictionary_id)
    return Response(status_code=204)
