"""ElevenLabs' ``voice_settings`` mapped onto what voxclone's engines can honour.

``speed`` is the engine's speaking rate. ``stability`` (0-1, steadier as it grows) becomes the
sampling temperature ``2 * (1 - stability)``: 0.5, ElevenLabs' usual value, is the engine's own
noise (temperature 1), 1 is the same audio every time (temperature 0, Piper), 0 twice the noise.
Engines without sampling noise (Kokoro) ignore it. ``similarity_boost``, ``style`` and
``use_speaker_boost`` have no counterpart in any engine and are ignored.
"""

from __future__ import annotations


def temperature_for(stability: float | None) -> float | None:
    """The temperature a ``stability`` means; None (the engine's default) when not given."""
    if stability is None:
        return None
    return round(2.0 * (1.0 - min(max(stability, 0.0), 1.0)), 3)
