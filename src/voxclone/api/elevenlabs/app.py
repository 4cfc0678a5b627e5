"""The ElevenLabs-compatible API as a sub-application mounted at ``PREFIX``: the official SDK
works with ``base_url="http://host:port/elevenlabs"``. Its own app, so that its errors have
ElevenLabs' shape (``errors.py``) while the rest of the API keeps voxclone's, and so that its
``/v1/voices``, ``/v1/models``, ``/v1/history`` and ``/v1/text-to-speech`` never shadow
voxclone's routes of the same path (docs/decisions.md)."""

from __future__ import annotations

from fastapi import FastAPI

from voxclone import __version__
from voxclone.api.elevenlabs import (
    account,
    errors,
    history,
    speech_to_text,
    stream_input,
    tts,
    voices,
)
from voxclone.api.openapi import install_openapi

PREFIX = "/elevenlabs"


def mount_elevenlabs(app: FastAPI) -> None:
    """Mount the API on ``app``; it shares ``app.state`` (the services) with it."""
    sub = FastAPI(
        title="voxclone: ElevenLabs-compatible API",
        version=__version__,
        description="ElevenLabs' API shapes over voxclone (docs/elevenlabs.md).",
    )
    sub.state = app.state
    errors.install(sub)
    install_openapi(sub, error_schema="ElevenLabsError")
    for module in (voices, tts, stream_input, history, speech_to_text, account):
        sub.include_router(module.router)
    app.mount(PREFIX, sub, name="elevenlabs")
