"""Pronunciation over HTTP: inline markup and per-key dictionaries (rules or a PLS upload),
applied to the text before the real Piper engine phonemizes it, part of the cache key, and
invisible to other keys."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.unit.services.test_pronunciation_rules import PLS
from voxclone.engines.registry import EngineRegistry, EngineSpec

PIPER = "en_US-joe-medium"
ROOT = "/v1/pronunciation-dictionaries"
pytestmark = pytest.mark.engine


@pytest.fixture
def registry() -> EngineRegistry:
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
        ]
    )


async def speak(
    client: httpx.AsyncClient, headers: dict[str, str], text: str, *dictionaries: str
) -> httpx.Response:
    locators = [{"pronunciation_dictionary_id": d} for d in dictionaries]
    body: dict[str, object] = {"text": text, "voice_settings": {"stability": 1.0}}
    if locators:
        body["pronunciation_dictionary_locators"] = locators
    return await client.post(f"/v1/text-to-speech/{PIPER}", json=body, headers=headers)


def seconds(response: httpx.Response) -> float:
    assert response.status_code == 200, response.text
    samples, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    return float(np.asarray(samples).shape[0] / rate)


async def make(
    client: httpx.AsyncClient, headers: dict[str, str], rules: list[dict[str, str]]
) -> dict[str, Any]:
    r = await client.post(ROOT, json={"name": "names", "rules": rules}, headers=headers)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def test_dictionaries_are_created_listed_got_and_deleted(client, user) -> None:
    rule = {"type": "alias", "string_to_replace": "UN", "alias": "United Nations"}
    made = await make(client, user, [rule])
    assert made["version_rules_num"] == 1 and made["rules"] == [rule] and made["version_id"]
    listed = (await client.get(ROOT, headers=user)).json()["pronunciation_dictionaries"]
    assert [d["id"] for d in listed] == [made["id"]]
    assert (await client.get(f"{ROOT}/{made['id']}", headers=user)).json() == made
    assert (await client.delete(f"{ROOT}/{made['id']}", headers=user)).status_code == 204
    gone = await client.get(f"{ROOT}/{made['id']}", headers=user)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    bad = await client.post(
        ROOT,
        json={"name": "x", "rules": [{"type": "phoneme", "string_to_replace": "a"}]},
        headers=user,
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_lexicon"


async def test_a_pls_upload_becomes_a_dictionary(client, user) -> None:
    r = await client.post(
        f"{ROOT}/add-from-file",
        data={"name": "lexicon", "description": "from a file"},
        files={"file": ("names.pls", PLS.encode(), "application/pls+xml")},
        headers=user,
    )
    assert r.status_code == 201, r.text
    assert r.json()["version_rules_num"] == 3 and r.json()["description"] == "from a file"
    bad = await client.post(
        f"{ROOT}/add-from-file",
        data={"name": "broken"},
        files={"file": ("x.pls", b"<lexicon><lexeme>", "application/pls+xml")},
        headers=user,
    )
    assert bad.status_code == 422 and "well-formed" in bad.json()["message"]


async def test_a_dictionary_changes_what_is_said_and_the_cache_key(client, user) -> None:
    text = "Welcome to Kokoro."
    plain = await speak(client, user, text)
    long_rule = {"type": "phoneme", "string_to_replace": "Kokoro", "phoneme": "kˈoʊkəɹoʊ" * 3}
    short_rule = {"type": "phoneme", "string_to_replace": "Kokoro", "phoneme": "kˈoʊ"}
    long, short = await make(client, user, [long_rule]), await make(client, user, [short_rule])
    first = await speak(client, user, text, long["id"])
    assert first.headers["X-Cache"] == "MISS"
    assert seconds(first) > seconds(plain) + 0.4
    again = await speak(client, user, text, long["id"])
    assert again.headers["X-Cache"] == "HIT" and again.content == first.content
    other = await speak(client, user, text, short["id"])
    assert other.headers["X-Cache"] == "MISS" and seconds(other) < seconds(first) - 0.4
    spelled = "the United Nations Educational, Scientific and Cultural Organization"
    alias = {"type": "alias", "string_to_replace": "Kokoro", "alias": spelled}
    aliased = await make(client, user, [alias])
    assert seconds(await speak(client, user, text, aliased["id"])) > seconds(plain) + 1.5
    stale = await client.post(
        f"/v1/text-to-speech/{PIPER}",
        json={
            "text": text,
            "pronunciation_dictionary_locators": [
                {"pronunciation_dictionary_id": long["id"], "version_id": "old"}
            ],
        },
        headers=user,
    )
    assert stale.status_code == 404 and "no version 'old'" in stale.json()["message"]


async def test_other_keys_cannot_see_or_use_a_dictionary(client, user, new_key) -> None:
    made = await make(client, user, [{"type": "alias", "string_to_replace": "a", "alias": "b"}])
    other = await new_key("bob")
    other.pop("_key_id")
    assert (await client.get(ROOT, headers=other)).json()["pronunciation_dictionaries"] == []
    assert (await client.get(f"{ROOT}/{made['id']}", headers=other)).status_code == 404
    assert (await client.delete(f"{ROOT}/{made['id']}", headers=other)).status_code == 404
    used = await speak(client, other, "Say a word.", made["id"])
    assert used.status_code == 404 and used.json()["error"] == "not_found"
    locators = [{"pronunciation_dictionary_id": made["id"]}]
    for path in ("/v1/synthesize", "/v1/synthesize/captions"):
        body = {
            "voice_id": PIPER,
            "text": "Say a word.",
            "pronunciation_dictionary_locators": locators,
        }
        assert (await client.post(path, json=body, headers=other)).status_code == 404
        assert (await client.post(path, json=body, headers=user)).status_code in (200, 202)
    assert (await client.get(f"{ROOT}/{made['id']}", headers=user)).status_code == 200


async def test_inline_markup_is_spoken_and_checked(client, user) -> None:
    plain = seconds(await speak(client, user, "One. Two."))
    paused = await speak(client, user, "One. [pause:2s] Two.")
    assert seconds(paused) > plain + 1.5
    unknown = await speak(client, user, "Say [Kokoro](/kˈOkəɹO/).")
    assert unknown.status_code == 422 and unknown.json()["error"] == "invalid_markup"
    assert unknown.json()["details"]["symbol"] == "O" and "'O'" in unknown.json()["message"]
    malformed = await speak(client, user, "Wait [pause:forever] here.")
    assert malformed.status_code == 422 and "malformed pause" in malformed.json()["message"]
    too_long = await speak(client, user, "Wait [pause:30s] here.")
    assert too_long.status_code == 422 and too_long.json()["error"] == "invalid_markup"
    queued = await client.post(
        "/v1/synthesize",
        json={"voice_id": PIPER, "text": "Say [Kokoro](/kˈ§/).", "backend": "piper"},
        headers=user,
    )
    assert queued.status_code == 422 and queued.json()["details"]["symbol"] == "§"


async def test_every_way_in_takes_markup_and_dictionaries(client, user) -> None:
    rule = {"type": "alias", "string_to_replace": "Kokoro", "alias": "one two three four five"}
    made = await make(client, user, [rule])
    locators = [{"pronunciation_dictionary_id": made["id"]}]
    body = {"text": "Welcome to Kokoro.", "pronunciation_dictionary_locators": locators}
    eleven = await client.post(f"/elevenlabs/v1/text-to-speech/{PIPER}", json=body, headers=user)
    plain = await client.post(
        f"/elevenlabs/v1/text-to-speech/{PIPER}", json={"text": body["text"]}, headers=user
    )
    assert eleven.status_code == 200 and plain.status_code == 200
    assert len(eleven.content) > len(plain.content) * 1.3  # the same mp3 bit rate, longer
    other = await client.post(
        f"/elevenlabs/v1/text-to-speech/{PIPER}",
        json={**body, "pronunciation_dictionary_locators": [{"pronunciation_dictionary_id": "x"}]},
        headers=user,
    )
    assert other.status_code == 404
    speech = await client.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": PIPER, "input": "One. [pause:1s] Two."},
        headers=user,
    )
    assert speech.status_code == 200, speech.text
    timed = await client.post(
        "/v1/synthesize",
        json={"voice_id": PIPER, "text": "One. [pause:1s] Two.", "with_timestamps": True},
        headers=user,
    )
    assert timed.status_code == 422 and timed.json()["error"] == "timestamps_unsupported"
