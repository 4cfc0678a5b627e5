"""The two dialects of OpenAI's Realtime protocol: the beta one (``OpenAI-Beta: realtime=v1``,
``client.beta.realtime``) that the session speaks, and the GA one (``client.realtime`` in the
current ``openai`` SDK; what OpenAI serves without the beta header), translated at the edge.

What differs, and what this module maps (OpenAI's GA migration notes):

- the ``session`` object nests audio settings: ``audio.input.format`` (``{"type":
  "audio/pcm", "rate": 24000}``, ``audio/pcmu``, ``audio/pcma``), ``audio.input.turn_detection``,
  ``.transcription``, ``.noise_reduction``; ``audio.output.format``, ``.voice``, ``.speed``;
  ``output_modalities`` (one of ``["audio"]`` or ``["text"]``) for ``modalities``;
  ``max_output_tokens`` for ``max_response_output_tokens``; and ``type: "realtime"``;
- server events renamed: ``response.output_audio.*``, ``response.output_audio_transcript.*``,
  ``response.output_text.*``; ``conversation.item.added`` and ``conversation.item.done`` for
  ``conversation.item.created``;
- assistant content parts are ``output_text`` / ``output_audio`` inside items.

Unknown fields pass through, so the session's own checks name what is wrong.
"""

from __future__ import annotations

import copy
from typing import Any

from voxclone.core.errors import InvalidInput

BETA = "beta"
GA = "ga"

_GA_FORMATS = {"audio/pcm": "pcm16", "audio/pcmu": "g711_ulaw", "audio/pcma": "g711_alaw"}
_BETA_FORMATS = {beta: ga for ga, beta in _GA_FORMATS.items()}
_RATES = {"pcm16": 24000, "g711_ulaw": 8000, "g711_alaw": 8000}

_RENAMED = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}
_ASSISTANT_PARTS = {"text": "output_text", "audio": "output_audio"}


def dialect_of(headers: dict[str, str] | Any, subprotocols: list[str]) -> str:
    """Beta when the client asked for it (the header, or the browser's subprotocol), else GA,
    as OpenAI's own server decides."""
    beta = headers.get("openai-beta", "") or ""
    if "realtime=v1" in beta.replace(" ", "") or "openai-beta.realtime-v1" in subprotocols:
        return BETA
    return GA


def event_in(event: dict[str, Any]) -> dict[str, Any]:
    """A GA client event as the beta session reads it."""
    kind = event.get("type")
    if kind == "session.update" and isinstance(event.get("session"), dict):
        return {**event, "session": session_in(event["session"])}
    if kind == "response.create" and isinstance(event.get("response"), dict):
        return {**event, "response": _response_in(event["response"])}
    if kind == "conversation.item.create" and isinstance(event.get("item"), dict):
        return {**event, "item": _item_in(event["item"])}
    return event


def session_in(body: dict[str, Any]) -> dict[str, Any]:
    """A GA ``session`` object in the beta shape."""
    out = {k: v for k, v in body.items() if k not in ("type", "audio", "output_modalities")}
    if body.get("type", "realtime") != "realtime":
        raise InvalidInput(
            f'session.type {body["type"]!r} is not served here; use "realtime"',
            param="session.type",
        )
    if "output_modalities" in body:
        out["modalities"] = _modalities_in(body["output_modalities"], "session.output_modalities")
    if "max_output_tokens" in body:
        out["max_response_output_tokens"] = out.pop("max_output_tokens")
    audio = body.get("audio")
    if audio is None:
        return out
    if not isinstance(audio, dict):
        raise InvalidInput("session.audio must be an object", param="session.audio")
    heard = audio.get("input") or {}
    spoken = audio.get("output") or {}
    if not isinstance(heard, dict) or not isinstance(spoken, dict):
        raise InvalidInput("session.audio.input and .output must be objects", param="session.audio")
    if "format" in heard:
        out["input_audio_format"] = _format_in(heard["format"], "session.audio.input.format")
    for ga, beta in (
        ("turn_detection", "turn_detection"),
        ("transcription", "input_audio_transcription"),
        ("noise_reduction", "input_audio_noise_reduction"),
    ):
        if ga in heard:
            out[beta] = heard[ga]
    if "format" in spoken:
        out["output_audio_format"] = _format_in(spoken["format"], "session.audio.output.format")
    for name in ("voice", "speed"):
        if name in spoken:
            out[name] = spoken[name]
    return out


def event_out(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A beta server event as a GA client expects it (one event may become two)."""
    kind = str(event.get("type", ""))
    if kind in _RENAMED:
        return [{**event, "type": _RENAMED[kind]}]
    if kind in ("session.created", "session.updated") and isinstance(event.get("session"), dict):
        return [{**event, "session": session_out(event["session"])}]
    if kind in ("response.created", "response.done") and isinstance(event.get("response"), dict):
        return [{**event, "response": _response_out(event["response"])}]
    if kind in ("response.output_item.added", "response.output_item.done") and isinstance(
        event.get("item"), dict
    ):
        return [{**event, "item": _item_out(event["item"])}]
    if kind == "conversation.item.created" and isinstance(event.get("item"), dict):
        item = _item_out(event["item"])
        added = {k: v for k, v in event.items() if k != "type"}
        events = [{**added, "type": "conversation.item.added", "item": item}]
        if item.get("status", "completed") == "completed":
            events.append({**added, "type": "conversation.item.done", "item": item})
        return events
    if kind == "conversation.item.retrieved" and isinstance(event.get("item"), dict):
        return [{**event, "item": _item_out(event["item"])}]
    return [event]


def session_out(session: dict[str, Any]) -> dict[str, Any]:
    """A beta ``session`` object in the GA shape."""
    moved = {
        "modalities",
        "voice",
        "input_audio_format",
        "output_audio_format",
        "input_audio_transcription",
        "turn_detection",
        "input_audio_noise_reduction",
        "speed",
        "max_response_output_tokens",
    }
    out: dict[str, Any] = {"type": "realtime"}
    out.update({k: v for k, v in session.items() if k not in moved})
    if "modalities" in session:
        out["output_modalities"] = ["audio"] if "audio" in session["modalities"] else ["text"]
    if "max_response_output_tokens" in session:
        out["max_output_tokens"] = session["max_response_output_tokens"]
    out["audio"] = {
        "input": {
            "format": _format_out(session.get("input_audio_format", "pcm16")),
            "transcription": session.get("input_audio_transcription"),
            "noise_reduction": session.get("input_audio_noise_reduction"),
            "turn_detection": session.get("turn_detection"),
        },
        "output": {
            "format": _format_out(session.get("output_audio_format", "pcm16")),
            "voice": session.get("voice"),
            "speed": session.get("speed", 1.0),
        },
    }
    return out


def _response_in(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in ("output_modalities", "audio")}
    if "output_modalities" in body:
        out["modalities"] = _modalities_in(body["output_modalities"], "response.output_modalities")
    if "max_output_tokens" in body:
        out["max_response_output_tokens"] = out.pop("max_output_tokens")
    spoken = (
        (body.get("audio") or {}).get("output") if isinstance(body.get("audio"), dict) else None
    )
    if isinstance(spoken, dict):
        if "voice" in spoken:
            out["voice"] = spoken["voice"]
        if "format" in spoken:
            out["output_audio_format"] = _format_in(
                spoken["format"], "response.audio.output.format"
            )
    return out


def _response_out(response: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in response.items() if k not in ("modalities", "output")}
    if "modalities" in response:
        out["output_modalities"] = ["audio"] if "audio" in response["modalities"] else ["text"]
    if isinstance(response.get("output"), list):
        out["output"] = [
            _item_out(item) if isinstance(item, dict) else item for item in response["output"]
        ]
    return out


def _item_in(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("role") != "assistant" or not isinstance(item.get("content"), list):
        return item
    content = []
    for part in item["content"]:
        if isinstance(part, dict) and part.get("type") in ("output_text", "output_audio"):
            part = {**part, "type": str(part["type"]).removeprefix("output_")}
        content.append(part)
    return {**item, "content": content}


def _item_out(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("role") != "assistant" or not isinstance(item.get("content"), list):
        return item
    item = copy.copy(item)
    item["content"] = [
        {**part, "type": _ASSISTANT_PARTS.get(str(part.get("type")), part.get("type"))}
        if isinstance(part, dict)
        else part
        for part in item["content"]
    ]
    return item


def _modalities_in(value: object, field: str) -> list[str]:
    if value == ["audio"]:
        return ["audio", "text"]  # GA's audio answers carry their transcript too
    if value == ["text"]:
        return ["text"]
    raise InvalidInput(f'{field} must be ["audio"] or ["text"]', param=field)


def _format_in(value: object, field: str) -> str:
    kind = value.get("type") if isinstance(value, dict) else None
    fmt = _GA_FORMATS.get(str(kind))
    if fmt is None:
        raise InvalidInput(
            f'{field} must be {{"type": "audio/pcm", "rate": 24000}}, '
            '{"type": "audio/pcmu"} or {"type": "audio/pcma"}',
            param=field,
        )
    rate = value.get("rate", _RATES[fmt]) if isinstance(value, dict) else None
    if rate != _RATES[fmt]:
        raise InvalidInput(f"{field}.rate must be {_RATES[fmt]} for {kind}", param=f"{field}.rate")
    return fmt


def _format_out(fmt: str) -> dict[str, Any]:
    kind = _BETA_FORMATS.get(fmt, "audio/pcm")
    return {"type": kind, "rate": 24000} if kind == "audio/pcm" else {"type": kind}
