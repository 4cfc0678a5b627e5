"""A LiveKit Agents plugin: an agent speaks in a cloned voice and hears through a voxclone
server (``pip install 'voxclone[livekit]'``; docs/livekit.md).

    from voxclone.integrations import livekit as voxclone_lk

    session = AgentSession(
        stt=voxclone_lk.STT(base_url="http://voxclone:8000", api_key="vx_..."),
        tts=voxclone_lk.TTS(base_url="http://voxclone:8000", api_key="vx_...", voice="narrator"),
        ...
    )
"""

from __future__ import annotations

try:
    import livekit.agents  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "voxclone.integrations.livekit needs livekit-agents: pip install 'voxclone[livekit]'"
    ) from exc

from voxclone.integrations.livekit.stt import STT
from voxclone.integrations.livekit.tts import TTS

__all__ = ["STT", "TTS"]
