"""A realtime session's configuration: OpenAI's ``session`` object (the beta Realtime shape),
checked field by field as ``session.update`` changes it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from voxclone.core.errors import InvalidInput
from voxclone.services.realtime.audio import check_format

MODALITIES = (("audio", "text"), ("text",))
NOISE_REDUCTION = ("near_field", "far_field")
MAX_INSTRUCTIONS = 20_000


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """Server VAD: a turn starts when speech is heard and ends after ``silence_duration_ms``."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    create_response: bool = True
    interrupt_response: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"type": "server_vad", **dataclasses.asdict(self)}


@dataclass(frozen=True, slots=True)
class SessionConfig:
    voice: str
    modalities: tuple[str, ...] = ("audio", "text")
    instructions: str = ""
    input_audio_format: str = "pcm16"
    output_audio_format: str = "pcm16"
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)
    transcription: dict[str, Any] | None = field(default_factory=lambda: {"model": "whisper-1"})
    """``input_audio_transcription``: None sends no transcription events (the answer still
    hears the words)."""
    noise_reduction: str | None = None
    temperature: float = 0.8
    max_output_tokens: int | None = None
    speed: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "modalities": list(self.modalities),
            "instructions": self.instructions,
            "voice": self.voice,
            "input_audio_format": self.input_audio_format,
            "output_audio_format": self.output_audio_format,
            "input_audio_transcription": self.transcription,
            "turn_detection": None
            if self.turn_detection is None
            else self.turn_detection.as_dict(),
            "input_audio_noise_reduction": (
                None if self.noise_reduction is None else {"type": self.noise_reduction}
            ),
            "tools": [],
            "tool_choice": "auto",
            "temperature": self.temperature,
            "max_response_output_tokens": (
                "inf" if self.max_output_tokens is None else self.max_output_tokens
            ),
            "speed": self.speed,
        }

    def updated(self, body: dict[str, Any]) -> SessionConfig:
        """This configuration with the fields ``body`` (a ``session`` object) sets; fields it
        leaves out keep their values, unknown fields are ignored (as OpenAI's server does)."""
        changes: dict[str, Any] = {}
        if "modalities" in body:
            changes["modalities"] = parse_modalities(body["modalities"], field="session.modalities")
        if "instructions" in body:
            changes["instructions"] = _string(body["instructions"], "session.instructions")
        if "voice" in body:
            voice = body["voice"]
            if not isinstance(voice, str) or not voice.strip():
                raise InvalidInput(
                    "session.voice must be a voice id or name", param="session.voice"
                )
            changes["voice"] = voice.strip()
        for name in ("input_audio_format", "output_audio_format"):
            if name in body:
                changes[name] = check_format(body[name], field=f"session.{name}")
        if "turn_detection" in body:
            changes["turn_detection"] = _turn_detection(body["turn_detection"])
        if "input_audio_transcription" in body:
            changes["transcription"] = _transcription(body["input_audio_transcription"])
        if "input_audio_noise_reduction" in body:
            changes["noise_reduction"] = _noise_reduction(body["input_audio_noise_reduction"])
        if "temperature" in body:
            changes["temperature"] = _number(body["temperature"], "session.temperature", 0.0, 2.0)
        if "max_response_output_tokens" in body:
            changes["max_output_tokens"] = parse_max_tokens(
                body["max_response_output_tokens"], field="session.max_response_output_tokens"
            )
        if "speed" in body:
            changes["speed"] = _number(body["speed"], "session.speed", 0.25, 4.0)
        tools = body.get("tools")
        if tools:
            raise InvalidInput(
                "function calling is not supported: session.tools must be empty",
                param="session.tools",
            )
        return dataclasses.replace(self, **changes)


def parse_modalities(value: object, *, field: str) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        chosen = tuple(sorted(set(value)))
        for allowed in MODALITIES:
            if chosen == tuple(sorted(allowed)):
                return allowed
    raise InvalidInput(f'{field} must be ["audio", "text"] or ["text"]', param=field)


def parse_max_tokens(value: object, *, field: str) -> int | None:
    if value == "inf" or value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4096:
        return value
    raise InvalidInput(f'{field} must be an integer from 1 to 4096, or "inf"', param=field)


def _turn_detection(value: object) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(
            "session.turn_detection must be an object or null", param="session.turn_detection"
        )
    kind = value.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise InvalidInput(
            f'session.turn_detection.type {kind!r} is not supported; use "server_vad"',
            param="session.turn_detection.type",
        )
    base = TurnDetection()
    return TurnDetection(
        threshold=_number(
            value.get("threshold", base.threshold), "session.turn_detection.threshold", 0.0, 1.0
        ),
        prefix_padding_ms=int(
            _number(
                value.get("prefix_padding_ms", base.prefix_padding_ms),
                "session.turn_detection.prefix_padding_ms",
                0,
                5000,
            )
        ),
        silence_duration_ms=int(
            _number(
                value.get("silence_duration_ms", base.silence_duration_ms),
                "session.turn_detection.silence_duration_ms",
                0,
                10000,
            )
        ),
        create_response=_bool(
            value.get("create_response", True), "session.turn_detection.create_response"
        ),
        interrupt_response=_bool(
            value.get("interrupt_response", True), "session.turn_detection.interrupt_response"
        ),
    )


def _transcription(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(
            "session.input_audio_transcription must be an object or null",
            param="session.input_audio_transcription",
        )
    out: dict[str, Any] = {
        "model": _string(value.get("model", "whisper-1"), "session.input_audio_transcription.model")
    }
    for name in ("language", "prompt"):
        if value.get(name) is not None:
            out[name] = _string(value[name], f"session.input_audio_transcription.{name}")
    return out


def _noise_reduction(value: object) -> str | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in NOISE_REDUCTION:
        raise InvalidInput(
            'session.input_audio_noise_reduction must be null or {"type": "near_field"} '
            '(or "far_field")',
            param="session.input_audio_noise_reduction",
        )
    return str(kind)


def _string(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_INSTRUCTIONS:
        raise InvalidInput(
            f"{name} must be a string of at most {MAX_INSTRUCTIONS} characters", param=name
        )
    return value


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(
            f"{name} must be a number from {low:g} to {high:g}; got {value!r}", param=name
        )
    return float(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", param=name)
    return value
