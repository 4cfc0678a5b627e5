"""Real-time voice sessions in OpenAI's Realtime event protocol (``WS /v1/realtime``)."""

from voxclone.services.realtime.service import RealtimeService
from voxclone.services.realtime.session import RealtimeSession

__all__ = ["RealtimeService", "RealtimeSession"]
