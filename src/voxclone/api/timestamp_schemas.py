"""Request bodies of the timestamps and captions routes (``routes/timestamps.py``)."""

from __future__ import annotations

from pydantic import Field

from voxclone.api.schemas import SpeechCreate


class CaptionedSpeech(SpeechCreate):
    """Kokoro-FastAPI's ``POST /dev/captioned_speech``: OpenAI's speech body, streamed by
    default, with word timestamps."""

    stream: bool | None = Field(
        True,
        description="true (the default): one JSON line per chunk as it is synthesized; "
        "false: one JSON object for the whole audio.",
    )
    return_timestamps: bool = Field(True, description="false: timestamps is null.")
