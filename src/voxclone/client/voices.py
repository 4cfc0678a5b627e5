"""Voices: clone, list, find, change, delete; reference samples; export and import."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.errors import NotFound
from voxclone.client.models import Audio, Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op


class Voice(Model):
    voice_id: str
    name: str
    backend: str = ""
    lang: str = ""
    family: str | None = None
    ref_text: str | None = None
    ref_duration_s: float = 0.0
    status: str = "ready"
    progress: float = 1.0
    error: str | None = None
    fit_job_id: str | None = None
    denoised: bool = False
    description: str | None = None
    tags: list[str] = []
    labels: dict[str, str] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None


class VoicePage(Model):
    voices: list[Voice]
    next_cursor: str | None = None
    has_more: bool


class Sample(Model):
    sample_id: str
    voice_id: str
    format: str
    duration_s: float
    sample_rate: int
    ref_text: str | None = None
    position: int
    primary: bool


class SampleList(Model):
    samples: list[Sample]
    total_duration_s: float


class SampleChanged(Model):
    sample: Sample | None = None
    voice: Voice


class ConsentChallenge(Model):
    consent_id: str
    voice_id: str
    phrase: str
    expires_at: datetime


class Consent(Model):
    consent_id: str
    voice_id: str
    phrase: str
    status: str
    transcript: str | None = None
    word_error_rate: float | None = None
    speaker_score: float | None = None
    speaker_threshold: float | None = None
    recording_sha256: str | None = None
    reason: str | None = None


BASE = "/v1/voices"


def create(
    name: str,
    audio: FileInput,
    *,
    ref_text: str | None = None,
    backend: str | None = None,
    lang: str | None = None,
    family: str | None = None,
    denoise: bool | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    labels: dict[str, str] | None = None,
    callback_url: str | None = None,
) -> Op[Voice]:
    """Clone a voice from a reference clip (3–60 s of WAV, MP3, FLAC or OGG)."""
    fields = c.form(
        name=name,
        ref_text=ref_text,
        backend=backend,
        lang=lang,
        family=family,
        denoise=denoise,
        description=description,
        tags=json.dumps(tags) if tags is not None else None,
        labels=json.dumps(labels) if labels is not None else None,
        callback_url=callback_url,
    )
    files = {"ref_audio": c.upload(audio, default_name="reference.wav")}
    return c.model(Call("POST", BASE, data=fields, files=files, timeout=300), Voice)


def list_(
    *,
    category: str | None = None,
    search: str | None = None,
    tags: list[str] | None = None,
    sort: str | None = None,
    order: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Op[list[Voice]]:
    """The key's voices (``category``: ``stock`` or ``all`` for the built-in engines' voices,
    on servers that have them)."""
    params = {"category": category, "search": search, "tag": tags, "sort": sort, "order": order}
    return c.models(Call("GET", BASE, params={**params, "limit": limit, "offset": offset}), Voice)


def page(*, cursor: str = "", search: str | None = None, limit: int | None = None) -> Op[VoicePage]:
    """One page ``{voices, next_cursor, has_more}``; ``cursor=""`` is the first."""
    params = {"cursor": cursor, "search": search, "limit": limit}
    return c.model(Call("GET", BASE, params=params), VoicePage)


def get(voice_id: str) -> Op[Voice]:
    return c.model(Call("GET", f"{BASE}/{voice_id}"), Voice)


def find(voice: str) -> Op[Voice]:
    """A voice of the key by id or exact name (the newest of several with that name)."""
    if _is_uuid(voice):
        try:
            return (yield from get(voice))
        except NotFound:
            pass
    for candidate in (yield from list_(search=voice, limit=1000)):
        if voice in (candidate.voice_id, candidate.name):
            return candidate
    raise NotFound(
        f"no voice named {voice!r}", status_code=404, code="not_found", details={"voice": voice}
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def update(voice_id: str, **changes: Any) -> Op[Voice]:
    """Change ``name``, ``ref_text``, ``lang``, ``backend``, ``description``, ``tags``..."""
    return c.model(Call("PATCH", f"{BASE}/{voice_id}", json=changes), Voice)


def delete(voice_id: str, *, purge_history: bool = False) -> Op[None]:
    params = {"purge_history": "true"} if purge_history else None
    return c.nothing(Call("DELETE", f"{BASE}/{voice_id}", params=params))


def reference(voice_id: str) -> Op[Audio]:
    response = yield from c.send(Call("GET", f"{BASE}/{voice_id}/reference"))
    return Audio.of(response)


def wait_ready(
    voice_id: str,
    *,
    timeout: float = 600.0,
    on_progress: Callable[[float], None] | None = None,
) -> Op[Voice]:
    """Poll until the voice is ``ready`` (returned) or ``failed`` (returned too; check
    ``status``); a fitting engine reports progress meanwhile."""
    deadline, interval = time.monotonic() + timeout, 0.25
    while True:
        voice = yield from get(voice_id)
        if on_progress is not None:
            on_progress(voice.progress)
        if voice.status != "fitting" or time.monotonic() + interval > deadline:
            return voice
        yield from c.sleep(interval)
        interval = min(interval * 1.5, 2.0)


def add_sample(
    voice_id: str, audio: FileInput, *, ref_text: str | None = None
) -> Op[SampleChanged]:
    files = {"audio": c.upload(audio, default_name="sample.wav")}
    call = Call(
        "POST",
        f"{BASE}/{voice_id}/samples",
        data=c.form(ref_text=ref_text),
        files=files,
        timeout=300,
    )
    return c.model(call, SampleChanged)


def samples(voice_id: str) -> Op[SampleList]:
    return c.model(Call("GET", f"{BASE}/{voice_id}/samples"), SampleList)


def sample_audio(voice_id: str, sample_id: str) -> Op[Audio]:
    response = yield from c.send(Call("GET", f"{BASE}/{voice_id}/samples/{sample_id}/audio"))
    return Audio.of(response)


def delete_sample(voice_id: str, sample_id: str) -> Op[SampleChanged]:
    return c.model(Call("DELETE", f"{BASE}/{voice_id}/samples/{sample_id}"), SampleChanged)


def export(voice_id: str) -> Op[bytes]:
    """The voice as one zip archive (samples, profile, the engine's prompt)."""
    return c.content(Call("GET", f"{BASE}/{voice_id}/export"))


def import_(archive: FileInput, *, refit: bool = False) -> Op[Voice]:
    files = {"archive": c.upload(archive, default_name="voice.zip")}
    params = {"refit": "true"} if refit else None
    return c.model(Call("POST", f"{BASE}/import", params=params, files=files, timeout=300), Voice)


def consent_challenge(voice_id: str) -> Op[ConsentChallenge]:
    """A one-time phrase for the voice's owner to say (docs/consent.md)."""
    return c.model(Call("POST", f"{BASE}/{voice_id}/consent/challenge"), ConsentChallenge)


def consent(voice_id: str, audio: FileInput, *, consent_id: str | None = None) -> Op[Consent]:
    """Send the owner's recording of the phrase; ``UnprocessableError`` when it is refused."""
    files = {"audio": c.upload(audio, default_name="consent.wav")}
    call = Call(
        "POST",
        f"{BASE}/{voice_id}/consent",
        data=c.form(consent_id=consent_id),
        files=files,
        timeout=300,
    )
    return c.model(call, Consent)


def consents(voice_id: str) -> Op[list[Consent]]:
    return c.models(Call("GET", f"{BASE}/{voice_id}/consent"), Consent)


class Voices(SyncResource):
    create = sync_op(create)
    list = sync_op(list_)
    page = sync_op(page)
    get = sync_op(get)
    find = sync_op(find)
    update = sync_op(update)
    delete = sync_op(delete)
    reference = sync_op(reference)
    wait_ready = sync_op(wait_ready)
    add_sample = sync_op(add_sample)
    samples = sync_op(samples)
    sample_audio = sync_op(sample_audio)
    delete_sample = sync_op(delete_sample)
    export = sync_op(export)
    import_ = sync_op(import_)
    consent_challenge = sync_op(consent_challenge)
    consent = sync_op(consent)
    consents = sync_op(consents)


class AsyncVoices(AsyncResource):
    create = async_op(create)
    list = async_op(list_)
    page = async_op(page)
    get = async_op(get)
    find = async_op(find)
    update = async_op(update)
    delete = async_op(delete)
    reference = async_op(reference)
    wait_ready = async_op(wait_ready)
    add_sample = async_op(add_sample)
    samples = async_op(samples)
    sample_audio = async_op(sample_audio)
    delete_sample = async_op(delete_sample)
    export = async_op(export)
    import_ = async_op(import_)
    consent_challenge = async_op(consent_challenge)
    consent = async_op(consent)
    consents = async_op(consents)
