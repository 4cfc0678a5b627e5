"""What remote engines send and get back: replies read with a size cap, audio decoded and checked.

Every check that a provider's answer is usable lives here, so "the provider sent garbage" is
decided in one place and always becomes the same ``ProviderError``.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from voxclone.audio import decode_audio, encode_audio
from voxclone.core.errors import ProviderError, ProviderRejected, VoxcloneError
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.base import Segment, Transcript

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4000, 192000
MAX_ERROR_CHARS = 500
_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
}


class EndpointFault(Exception):
    """Raised inside a pool attempt to say how a reply went wrong.

    ``eject``: the URL misbehaved (it counts towards taking the URL out of rotation).
    ``retry``: another URL may do better, so the pool tries again elsewhere.
    """

    def __init__(self, error: VoxcloneError, *, eject: bool, retry: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.eject = eject
        self.retry = retry


@dataclass(frozen=True, slots=True)
class Reply:
    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";", 1)[0].strip().lower()

    def json(self, *, engine: str) -> Any:
        try:
            return json.loads(self.content)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise garbage(engine, f"the reply is not JSON ({exc})") from exc


def fetch(
    client: httpx.Client, method: str, url: str, *, engine: str, max_bytes: int, **kwargs: Any
) -> Reply:
    """Send a request and read the reply, refusing one longer than ``max_bytes``."""
    request = client.build_request(method, url, **kwargs)
    response = client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise garbage(engine, f"the reply is {declared} bytes; the limit is {max_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise garbage(engine, f"the reply is longer than the limit of {max_bytes} bytes")
            chunks.append(chunk)
    finally:
        response.close()
    return Reply(response.status_code, response.headers, b"".join(chunks))


def garbage(engine: str, problem: str) -> EndpointFault:
    """A reply that cannot be used: counts against the URL, and another URL is tried."""
    return EndpointFault(
        ProviderError(f"backend {engine!r} sent an unusable reply: {problem}", backend=engine),
        eject=True,
        retry=True,
    )


def error_text(reply: Reply) -> str:
    """The provider's own explanation, from the error shapes in use, or the start of the body."""
    text = reply.content[:4000].decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return text.strip()[:MAX_ERROR_CHARS]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:MAX_ERROR_CHARS]  # OpenAI
        if body.get("message"):  # voxclone, GPT-SoVITS (with "Exception")
            parts = [str(body["message"]), str(body.get("Exception") or "")]
            return ": ".join(p for p in parts if p)[:MAX_ERROR_CHARS]
        for k in ("detail", "error"):  # FastAPI, others
            if body.get(k):
                return str(body[k])[:MAX_ERROR_CHARS]
    return text.strip()[:MAX_ERROR_CHARS]


def check_status(reply: Reply, *, engine: str, url: str) -> None:
    """Raise the EndpointFault a non-2xx status deserves.

    5xx, 408 and 429: the URL is in trouble (counted, and another URL is tried).
    Other 4xx: the provider refused this request; it is up, so nothing is counted or retried.
    """
    status = reply.status_code
    if 200 <= status < 300:
        return
    message = f"backend {engine!r} answered {status}: {error_text(reply) or 'no message'}"
    details = {"backend": engine, "provider_status": status}
    if status >= 500 or status in (408, 429):
        raise EndpointFault(ProviderError(message, **details), eject=True, retry=True)
    raise EndpointFault(ProviderRejected(message, **details), eject=False, retry=False)


def audio_from_pcm_b64(body: Any, *, engine: str) -> Audio:
    """The provider spec's ``{"audio": base64, "sample_rate": int, "dtype": str}`` as Audio."""
    if not isinstance(body, dict):
        raise garbage(engine, "the reply is not a JSON object")
    audio, rate, dtype_name = body.get("audio"), body.get("sample_rate"), body.get("dtype")
    if not isinstance(audio, str):
        raise garbage(engine, "'audio' is missing or not a string")
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise garbage(engine, f"'sample_rate' must be an integer, got {rate!r}")
    try:
        raw = binascii.a2b_base64(audio, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise garbage(engine, f"'audio' is not valid base64 ({exc})") from exc
    return audio_from_raw(raw, rate, str(dtype_name or "float32"), engine=engine)


RAW_MEDIA_TYPE = "application/octet-stream"
"""voxclone's provider server answers ``/v1/generate`` with the raw samples (``X-Sample-Rate``,
``X-Dtype`` headers) when asked with ``Accept: application/octet-stream``; other providers keep
to the spec's JSON, which the client reads as well."""


def audio_from_raw_reply(reply: Reply, *, engine: str) -> Audio:
    """The samples of a raw ``/v1/generate`` reply, described by its headers."""
    rate = reply.headers.get("x-sample-rate", "")
    if not rate.isdigit():
        raise garbage(engine, f"X-Sample-Rate {rate!r} is not a number")
    dtype_name = reply.headers.get("x-dtype", "float32")
    return audio_from_raw(reply.content, int(rate), dtype_name, engine=engine)


def audio_from_reply(reply: Reply, *, engine: str) -> Audio:
    """Provider audio: raw samples (voxclone's server, when asked) or the spec's base64 JSON."""
    if reply.content_type == RAW_MEDIA_TYPE:
        return audio_from_raw_reply(reply, engine=engine)
    return audio_from_pcm_b64(reply.json(engine=engine), engine=engine)


def audio_from_raw(raw: bytes, rate: int, dtype_name: str, *, engine: str) -> Audio:
    """Little-endian samples of ``dtype_name`` (float32, float64, int16, int32) as Audio."""
    dtype = _DTYPES.get(dtype_name)
    if dtype is None:
        raise garbage(engine, f"'dtype' {dtype_name!r} is not one of {', '.join(_DTYPES)}")
    if len(raw) % dtype.itemsize:
        raise garbage(engine, f"{len(raw)} bytes of audio are not whole {dtype_name} samples")
    samples = np.frombuffer(raw, dtype=dtype)
    if samples.dtype.kind == "i":
        scaled = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    else:
        scaled = samples.astype(np.float32)
    return checked_audio(scaled, rate, engine=engine)


MAX_OUTPUT_SECONDS = 3600.0
"""The longest audio accepted from a provider, checked from the header before decoding."""


def audio_from_file(data: bytes, *, engine: str, max_seconds: float = MAX_OUTPUT_SECONDS) -> Audio:
    """Audio in a container (WAV, FLAC, OGG, MP3), sniffed from its bytes."""
    try:
        decoded = decode_audio(data, max_seconds=max_seconds)
    except VoxcloneError as exc:
        raise garbage(engine, f"the audio cannot be decoded ({exc})") from exc
    return checked_audio(decoded.audio.samples, decoded.sample_rate, engine=engine)


def audio_from_s16le(data: bytes, rate: int, *, engine: str) -> Audio:
    """Headerless signed 16-bit little-endian mono samples (OpenAI's ``pcm``)."""
    if len(data) % 2:
        raise garbage(engine, f"{len(data)} bytes of 16-bit PCM are not whole samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return checked_audio(samples, rate, engine=engine)


def checked_audio(samples: np.ndarray[Any, Any], rate: int, *, engine: str) -> Audio:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise garbage(
            engine, f"sample rate {rate} is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz"
        )
    if samples.ndim != 1 or samples.size == 0:
        raise garbage(engine, "the audio is empty")
    # Two passes over the samples, not five: a NaN or an infinity makes the peak not finite.
    peak = max(-float(np.min(samples)), float(np.max(samples)))
    if not np.isfinite(peak):
        raise garbage(engine, "the audio contains NaN or infinite samples")
    if peak > 8.0:
        raise garbage(engine, "the samples are far outside [-1, 1]; this is not float audio")
    if peak > 1.0:
        samples = np.clip(samples, -1.0, 1.0)
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(rate))


def wav_upload(audio: Audio) -> bytes:
    """16-bit WAV of ``audio``, the one format every provider accepts."""
    return encode_audio(audio, "wav")


def b64_float32(audio: Audio) -> str:
    return binascii.b2a_base64(float32_bytes(audio), newline=False).decode("ascii")


def float32_bytes(audio: Audio) -> bytes:
    return audio.samples.astype("<f4", copy=False).tobytes()


def transcript_from_json(body: Any, *, engine: str) -> Transcript:
    """``{"text", "language"?, "duration"?, "segments"?: [{"start", "end", "text"}]}``.

    This is the provider spec's ``/v1/transcribe`` reply and OpenAI's ``verbose_json`` (whose
    plain ``json`` form, text alone, is accepted too).
    """
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise garbage(engine, "the transcription has no 'text'")
    segments: list[Segment] = []
    for item in body.get("segments") or []:
        try:
            start, end = float(item["start"]), float(item["end"])
            text = str(item["text"])
        except (KeyError, TypeError, ValueError) as exc:
            raise garbage(engine, f"a segment is malformed: {item!r}") from exc
        if not (0 <= start <= end) or not np.isfinite(end):
            raise garbage(engine, f"a segment has impossible times: {start}–{end}")
        segments.append(Segment(start_s=start, end_s=end, text=text.strip()))
    duration = body.get("duration")
    language = body.get("language")
    return Transcript(
        text=body["text"].strip(),
        segments=tuple(segments),
        language=language if isinstance(language, str) and language else None,
        duration_s=float(duration) if isinstance(duration, int | float) else None,
    )


MAX_EMBEDDING_DIM = 65536


def embedding_from_json(body: Any, *, engine: str) -> FloatArray:
    """``{"embedding": [floats], "dim": int?, "model": str?}`` as a unit-length float32 vector."""
    values = body.get("embedding") if isinstance(body, dict) else None
    if not isinstance(values, list) or not values:
        raise garbage(engine, "'embedding' is missing, empty or not a list")
    if len(values) > MAX_EMBEDDING_DIM:
        raise garbage(engine, f"'embedding' has {len(values)} values; at most {MAX_EMBEDDING_DIM}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise garbage(engine, "'embedding' holds something other than numbers")
    dim = body.get("dim", len(values))
    if dim != len(values):
        raise garbage(engine, f"'dim' says {dim!r} but 'embedding' has {len(values)} values")
    vector = np.asarray(values, dtype=np.float64)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise garbage(engine, "'embedding' is all zeros or not finite")
    unit: FloatArray = (vector / norm).astype(np.float32)
    return unit
