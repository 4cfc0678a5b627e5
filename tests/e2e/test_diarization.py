"""``diarize=true`` on OpenAI's transcriptions, over real HTTP with the official SDK: real speech
of two people from the evaluation set, strung together, labelled by speaker with the real
Whisper and Resemblyzer; an enrolled speaker is named."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, make_settings
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.audio import resample
from voxclone.core.types import Audio
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

ANNA = [f"vctk/p225/p225_{n}.wav" for n in ("003", "019")]
"""Two clips of a woman (VCTK p225)."""
BEN = [f"librispeech_test-other/1688/1688-142285-000{n}.flac" for n in ("4", "8")]
"""Two clips of a man (LibriSpeech 1688)."""
ENROL_BEN = "librispeech_test-other/1688/1688-142285-0001.flac"
RATE = 16000


def load(path: str) -> np.ndarray:
    samples, rate = sf.read(EVAL_SPEECH / path, dtype="float32")
    return resample(Audio(samples, rate), RATE).samples


def conversation() -> tuple[bytes, list[tuple[float, float, str]]]:
    """Anna, Ben, Anna, Ben with 0.8 s pauses, as WAV, and each turn's (start, end, who)."""
    parts, turns, at = [], [], 0.0
    for path, who in zip([ANNA[0], BEN[0], ANNA[1], BEN[1]], "ABAB", strict=True):
        samples = load(path)
        turns.append((at, at + len(samples) / RATE, who))
        parts += [samples, np.zeros(int(0.8 * RATE), np.float32)]
        at += len(samples) / RATE + 0.8
    buf = io.BytesIO()
    sf.write(buf, np.concatenate(parts), RATE, format="WAV")
    return buf.getvalue(), turns


def speaker_at(segments: list[dict[str, object]], start: float, end: float) -> set[str]:
    """The labels of the segments whose middle falls inside a turn."""
    return {
        str(s["speaker"])
        for s in segments
        if start <= (float(s["start"]) + float(s["end"])) / 2 <= end  # type: ignore[arg-type]
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("diarize") / "data"
    settings = make_settings(
        data_dir, default_stt_backend="whisper", whisper={"beam_size": 1, "packaged_model": "base"}
    )
    specs = [s for s in builtin_specs(settings) if s.name in ("whisper", "resemblyzer")]
    services = build_services(settings, engines=EngineRegistry(specs))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture
def key(server: str) -> str:
    r = httpx.post(f"{server}/v1/keys", json={"label": "d"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def transcribe(server: str, key: str, audio: bytes, **data: str) -> httpx.Response:
    return httpx.post(
        f"{server}/v1/audio/transcriptions",
        files={"file": ("talk.wav", audio)},
        data={"language": "en", "diarize": "true", **data},
        headers={"Authorization": f"Bearer {key}"},
        timeout=300,
    )


def test_two_unknown_speakers_are_told_apart(server: str, key: str) -> None:
    audio, turns = conversation()
    with openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0, timeout=300) as sdk:
        result = sdk.audio.transcriptions.create(
            model="whisper-1",
            file=("talk.wav", audio),
            language="en",
            response_format="verbose_json",
            extra_body={"diarize": "true"},
        )
    body = result.model_dump()
    segments = body["segments"]
    said = [speaker_at(segments, start, end) for start, end, _ in turns]
    assert all(len(labels) == 1 for labels in said), said
    anna, ben = said[0], said[1]
    assert anna != ben and said[2] == anna and said[3] == ben
    assert {s["speaker"] for s in body["speakers"]} == {"A", "B"}
    assert all(s["speaker_id"] is None and s["name"] is None for s in body["speakers"])
    assert sum(s["segments"] for s in body["speakers"]) == len(segments)


def test_an_enrolled_speaker_is_named_in_captions(server: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    enrol = io.BytesIO()
    sf.write(enrol, load(ENROL_BEN), RATE, format="WAV")
    made = httpx.post(
        f"{server}/v1/speakers",
        data={"name": "Ben"},
        files={"audio": ("ben.wav", enrol.getvalue())},
        headers=auth,
        timeout=120,
    )
    assert made.status_code == 201, made.text
    audio, turns = conversation()
    r = transcribe(server, key, audio, response_format="verbose_json")
    assert r.status_code == 200, r.text
    segments = r.json()["segments"]
    assert speaker_at(segments, *turns[1][:2]) == {"Ben"} == speaker_at(segments, *turns[3][:2])
    assert speaker_at(segments, *turns[0][:2]) == {"A"}
    ben = next(s for s in r.json()["speakers"] if s["speaker"] == "Ben")
    assert ben["speaker_id"] == made.json()["speaker_id"] and ben["score"] >= 0.75
    vtt = transcribe(server, key, audio, response_format="vtt")
    assert vtt.status_code == 200 and "<v Ben>" in vtt.text and "<v A>" in vtt.text
    srt = transcribe(server, key, audio, response_format="srt")
    assert srt.status_code == 200 and "[Ben] " in srt.text and "[A] " in srt.text


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_diarize_needs_a_format_with_segments(server: str, key: str, fmt: str) -> None:
    audio, _ = conversation()
    r = transcribe(server, key, audio, response_format=fmt)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request" and r.json()["details"]["field"] == "diarize"


def test_diarize_must_be_a_boolean(server: str, key: str) -> None:
    audio, _ = conversation()
    r = transcribe(server, key, audio, response_format="verbose_json", diarize="maybe")
    assert r.status_code == 400 and r.json()["details"]["field"] == "diarize"
