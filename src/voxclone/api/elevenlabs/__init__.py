"""The ElevenLabs-compatible API, mounted under ``/elevenlabs`` (docs/elevenlabs.md)."""
