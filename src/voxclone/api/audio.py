"""Audio responses and output-format names."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import StreamingResponse

from voxclone.audio import SUPPORTED_OUTPUT_FORMATS
from voxclone.core.errors import UnsupportedFormat
from voxclone.services.streaming import SynthesisStream
from voxclone.services.synthesis_request import SynthesizedAudio

EXTENSIONS = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "ogg": "ogg",
    "opus": "opus",
    "pcm": "pcm",
}


def parse_output_format(value: str) -> tuple[str, int | None]:
    """``wav`` or ElevenLabs-style ``codec_rate[_bitrate]`` (``mp3_44100_128``, ``pcm_16000``)."""
    codec, _, rest = value.lower().partition("_")
    rate_text = rest.split("_", 1)[0] if rest else ""
    if codec not in SUPPORTED_OUTPUT_FORMATS or (rate_text and not rate_text.isdigit()):
        raise UnsupportedFormat(
            f"output format {value!r} is not supported; use one of "
            f"{', '.join(SUPPORTED_OUTPUT_FORMATS)}, optionally with a rate (mp3_44100_128)",
            format=value,
        )
    return codec, int(rate_text) if rate_text else None


def audio_response(result: SynthesizedAudio, *, filename: str = "speech") -> Response:
    return Response(
        content=result.data,
        media_type=result.media_type,
        headers=_audio_headers(result, filename=filename),
    )


def stream_response(stream: SynthesisStream, *, filename: str = "speech") -> StreamingResponse:
    """The audio as it is synthesized, in chunked transfer encoding. On a cache miss the length
    and the synthesis time are not known when the headers go out, so X-Audio-Duration and
    X-Synthesis-Time-Ms are left out; a failure part way cuts the response short."""
    return StreamingResponse(
        stream.pieces,
        media_type=stream.media_type,
        headers=_audio_headers(stream, filename=filename),
    )


def _audio_headers(audio: SynthesizedAudio | SynthesisStream, *, filename: str) -> dict[str, str]:
    ext = audio.media_type.split("/")[-1]
    headers = {
        "X-Cache": "HIT" if audio.cache_hit else "MISS",
        "X-Backend": audio.backend,
        "Content-Disposition": f'attachment; filename="{filename}.{ext}"',
    }
    if audio.synthesis_ms is not None:
        headers["X-Synthesis-Time-Ms"] = str(audio.synthesis_ms)
    if audio.duration_s is not None:
        headers["X-Audio-Duration"] = f"{audio.duration_s:.3f}"
    if audio.voice_id:
        headers["X-Voice-Id"] = audio.voice_id
    return headers
