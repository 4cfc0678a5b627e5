"""Text that is not text, or has nothing to say, is refused with 422 naming the field on every
way into synthesis (before it reaches an engine that would fail on it)."""

from __future__ import annotations

import json

import pytest

NOTHING = ["\N{GRINNING FACE}", "." * 5000, "\u200b" * 5000, " - ... ! "]


def bodies(voice_id: str, text_json: str) -> list[tuple[str, str, str]]:
    """(path, raw JSON body, the field holding the text): raw, so a lone surrogate survives."""
    voice = json.dumps(voice_id)
    return [
        (f"/v1/text-to-speech/{voice_id}", f'{{"text": {text_json}}}', "text"),
        ("/v1/synthesize", f'{{"voice_id": {voice}, "text": {text_json}}}', "text"),
        (
            "/v1/audio/speech",
            f'{{"model": "tts-1", "voice": {voice}, "input": {text_json}}}',
            "input",
        ),
    ]


async def test_a_lone_surrogate_is_refused_naming_the_field(client, user, voice_id) -> None:
    for path, body, field in bodies(voice_id, '"\\ud800 hi"'):
        headers = {**user, "content-type": "application/json"}
        r = await client.post(path, content=body.encode(), headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "invalid_text"
        assert r.json()["details"]["field"] == field
        # The connection still serves the next request.
        assert (await client.get("/v1/voices", headers=user)).status_code == 200


@pytest.mark.parametrize("text", NOTHING, ids=["emoji", "dots", "zero-width", "punctuation"])
async def test_nothing_to_speak_is_422(client, user, voice_id, text) -> None:
    for path, body, field in bodies(voice_id, json.dumps(text)):
        headers = {**user, "content-type": "application/json"}
        r = await client.post(path, content=body.encode(), headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"] == "nothing_to_speak"
        assert r.json()["details"]["field"] == field
