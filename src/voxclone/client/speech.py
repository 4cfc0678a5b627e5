"""Speech services: transcription (Whisper) and noise suppression (DeepFilterNet3)."""

from __future__ import annotations

from voxclone.client import calls as c
from voxclone.client.calls import Call, FileInput, Op
from voxclone.client.models import Audio, Model
from voxclone.client.resource import AsyncResource, SyncResource, async_op, sync_op


class Word(Model):
    word: str
    start: float
    end: float


class Segment(Model):
    id: int
    start: float
    end: float
    text: str


class Transcription(Model):
    """OpenAI's ``verbose_json``: ``language`` is the language's name (``english``)."""

    text: str
    language: str | None = None
    duration: float | None = None
    segments: list[Segment] = []
    words: list[Word] | None = None


CAPTIONS = ("text", "srt", "vtt")


def _call(
    audio: FileInput,
    *,
    response_format: str,
    model: str | None,
    language: str | None,
    prompt: str | None,
    temperature: float | None,
    words: bool = False,
) -> Call:
    fields = c.form(
        model=model or "whisper-1",
        language=language,
        prompt=prompt,
        temperature=temperature,
        response_format=response_format,
    )
    if words:
        fields["timestamp_granularities[]"] = "word"
    files = {"file": c.upload(audio)}
    return Call("POST", "/v1/audio/transcriptions", data=fields, files=files, timeout=600)


def transcribe(
    audio: FileInput,
    *,
    model: str | None = None,
    language: str | None = None,
    prompt: str | None = None,
    temperature: float | None = None,
    word_timestamps: bool = False,
) -> Op[Transcription]:
    """Text, language, duration and segments (and words with ``word_timestamps``);
    ``model`` is ``whisper-1`` (the default engine) or an STT engine's name."""
    call = _call(
        audio,
        response_format="verbose_json",
        model=model,
        language=language,
        prompt=prompt,
        temperature=temperature,
        words=word_timestamps,
    )
    return c.model(call, Transcription)


def captions(
    audio: FileInput,
    *,
    format: str = "srt",
    model: str | None = None,
    language: str | None = None,
) -> Op[str]:
    """The transcript as ``text``, ``srt`` or ``vtt``."""
    if format not in CAPTIONS:
        raise ValueError(f"format must be one of {', '.join(CAPTIONS)}, not {format!r}")
    call = _call(
        audio,
        response_format=format,
        model=model,
        language=language,
        prompt=None,
        temperature=None,
    )
    response = yield from c.send(call)
    return response.text


def denoise(
    audio: FileInput, *, format: str | None = None, sample_rate: int | None = None
) -> Op[Audio]:
    """The audio with its noise suppressed, as long as the input."""
    files = {"file": c.upload(audio)}
    fields = c.form(format=format, sample_rate=sample_rate)
    call = Call("POST", "/v1/audio/denoise", data=fields, files=files, timeout=600)
    response = yield from c.send(call)
    return Audio.of(response)


class Transcriptions(SyncResource):
    transcribe = sync_op(transcribe)
    captions = sync_op(captions)


class AsyncTranscriptions(AsyncResource):
    transcribe = async_op(transcribe)
    captions = async_op(captions)


class Denoise(SyncResource):
    denoise = sync_op(denoise)


class AsyncDenoise(AsyncResource):
    denoise = async_op(denoise)
