"""Real-time voice sessions (``WS /v1/realtime``) and the agent that answers in them."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class RealtimeSettings(BaseModel):
    """Bounds of realtime sessions, over ``WS /v1/realtime`` or WebRTC (docs/realtime.md)."""

    max_sessions_per_key: int = Field(
        4, ge=1, description="Sessions one key may hold open at once; more are refused."
    )
    max_session_s: float = Field(
        1800.0, gt=0, description="Longest session; it is then closed (OpenAI's limit: 30 min)."
    )
    idle_timeout_s: float = Field(
        120.0, gt=0, description="A session closes after this long without a client event."
    )
    max_input_buffer_s: float = Field(
        60.0, gt=0, description="Longest uncommitted input audio; more closes the session."
    )
    max_event_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest client event (base64 audio included)."
    )
    output_lead_ms: int = Field(
        400,
        ge=0,
        description="How far the answer's audio is sent ahead of real-time playback: a barge-in "
        "cuts at most this much already-sent audio.",
    )
    default_voice: str = Field(
        "alloy", description="The voice of a session that names none (any voxclone voice)."
    )
    ice_servers: list[str] = Field(
        default_factory=list,
        description="STUN/TURN URLs the server's WebRTC side gathers candidates with "
        "(``stun:host:3478``); none: host candidates only, enough on a LAN or behind a "
        "reverse proxy that forwards UDP (docs/realtime.md).",
    )
    max_sdp_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest SDP offer POST /v1/realtime/calls accepts."
    )


class AgentSettings(BaseModel):
    """Who answers in a realtime session: an operator's OpenAI-compatible chat endpoint.

    Without ``llm_url`` sessions can only use ``model=echo`` (the answer repeats what was heard).
    """

    llm_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API (``https://host/v1``; "
        "``/chat/completions`` is appended unless the URL already ends with it).",
    )
    model: str = Field("gpt-4o-mini", description="The chat model asked for.")
    api_key: SecretStr | None = Field(None, description="Sent as ``Authorization: Bearer``.")
    system_prompt: str = Field(
        "You are a helpful voice assistant. Answer briefly, in plain spoken sentences, "
        "without lists or markup.",
        description="First message of every conversation; a session's ``instructions`` follow.",
    )
    timeout_s: float = Field(30.0, gt=0, description="Longest wait for the endpoint's reply.")
    max_tokens: int = Field(400, ge=1, description="Longest reply, in tokens.")
