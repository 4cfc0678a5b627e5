"""Audio responses and output-format names."""

from __future__ import annotations

from fastapi import Response

from voxclone.audio import SUPPORTED_OUTPUT_FORMATS
from voxclone.core.errors import UnsupportedFormat
from voxclone.services.synthesis import SynthesizedAudio

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
    ext = result.media_type.split("/")[-1]
    headers = {
        "X-Cache": "HIT" if result.cache_hit else "MISS",
        "X-Backend": result.backend,
        "X-Synthesis-Time-Ms": str(result.synthesis_ms),
        "X-Audio-Duration": f"{result.duration_s:.3f}",
        "Content-Disposition": f'attachment; filename="{filename}.{ext}"',
    }
    if result.voice_id:
        headers["X-Voice-Id"] = result.voice_id
    return Response(content=result.data, media_type=result.media_type, headers=headers)
