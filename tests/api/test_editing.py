"""Audio editing over HTTP (POST /v1/audio/edit): an upload, a history item and a job's audio
as sources (and concat sources); results as history items, or downloaded; strict errors that
store nothing; another key's sources are 404. Real services on both databases, real speech."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.api.test_admission import make_key
from tests.conftest import EVAL_SPEECH, make_settings
from voxclone.api.app import create_app
from voxclone.api.editing_schemas import OutputFormat
from voxclone.audio import SUPPORTED_OUTPUT_FORMATS
from voxclone.core.types import JobKind, JobStatus, new_id
from voxclone.db import jobs as job_queries
from voxclone.services.container import Services

pytestmark = pytest.mark.skipif(
    not (EVAL_SPEECH / "manifest.csv").is_file(), reason="no shared/eval/speech"
)
needs_vad = pytest.mark.skipif(
    importlib.util.find_spec("silero_vad") is None, reason="pip install --no-deps silero-vad"
)
CLIP = "librispeech_test-other/1688/1688-142285-0005.flac"  # 4.3 s, 16 kHz
OTHER = "librispeech_test-other/1688/1688-142285-0002.flac"  # 2.835 s
URL = "/v1/audio/edit"


def clip_bytes(name: str = CLIP) -> bytes:
    return (EVAL_SPEECH / name).read_bytes()


def seconds(data: bytes) -> float:
    info = sf.info(io.BytesIO(data))
    return float(info.frames / info.samplerate)


async def plant_item(services: Services, key_id: str, name: str = CLIP) -> str:
    item = await services.history.add(
        key_id=key_id,
        audio=clip_bytes(name),
        audio_format="flac",
        duration_s=seconds(clip_bytes(name)),
        entry="sync",
        text="a line",
        voice_name="speaker",
        backend="fake",
    )
    return item.id


async def plant_job(
    services: Services, key_id: str, status: JobStatus = JobStatus.READY, name: str = OTHER
) -> str:
    """A synthesis job, finished with real speech as its audio (or left ``status``)."""
    job_id = new_id()
    audio_key = f"jobs/{job_id}.flac"
    await services.blobs.put(audio_key, clip_bytes(name))
    async with services.sessions() as session:
        await job_queries.create_job(
            session, id=job_id, key_id=key_id, kind=JobKind.SYNTHESIZE, params={}
        )
        if status is not JobStatus.PENDING:
            await job_queries.finish_job(
                session,
                job_id=job_id,
                status=status,
                audio_key=audio_key if status is JobStatus.READY else None,
                audio_duration_s=seconds(clip_bytes(name)),
            )
        await session.commit()
    return job_id


async def history_ids(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    r = await client.get("/v1/history", headers=headers)
    assert r.status_code == 200, r.text
    return [item["history_id"] for item in r.json()["items"]]


async def fetch(client: httpx.AsyncClient, headers: dict[str, str], item: dict[str, Any]) -> bytes:
    r = await client.get(item["audio_url"], headers=headers)
    assert r.status_code == 200, r.text
    return r.content


def lufs(data: bytes) -> float:
    import pyloudnorm

    samples, rate = sf.read(io.BytesIO(data), dtype="float64")
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


# --- each kind of source ------------------------------------------------------------------------


async def test_an_upload_trimmed_and_normalised_is_a_history_item(client) -> None:
    headers, _ = await make_key(client)
    operations = [
        {"op": "trim", "start_s": 0.5, "end_s": 3.5},
        {"op": "normalize", "target_lufs": -20},
    ]
    r = await client.post(
        URL,
        files={"file": ("clip.flac", clip_bytes(), "audio/flac")},
        data={"operations": json.dumps(operations), "format": "wav"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    [item] = r.json()["items"]
    assert item["entry"] == "edit" and item["source_id"] is None
    assert item["duration_s"] == pytest.approx(3.0, abs=0.001)
    assert item["params"]["operations"][0] == {"op": "trim", "start_s": 0.5, "end_s": 3.5}
    data = await fetch(client, headers, item)
    assert seconds(data) == pytest.approx(3.0, abs=0.001)
    assert lufs(data) == pytest.approx(-20, abs=0.5)
    assert await history_ids(client, headers) == [item["history_id"]]


async def test_a_history_item_edited_and_downloaded(client, services) -> None:
    headers, key_id = await make_key(client)
    source = await plant_item(services, key_id)
    body = {"source": {"history_id": source}, "operations": [{"op": "speed", "factor": 1.25}]}
    r = await client.post(
        URL, params={"download": "true"}, json={**body, "format": "mp3"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/mpeg"
    expected = seconds(clip_bytes()) / 1.25
    assert float(r.headers["X-Audio-Duration"]) == pytest.approx(expected, rel=0.01)
    assert seconds(r.content) == pytest.approx(expected, abs=0.1)  # MP3 pads a frame or two
    item = (await client.get(f"/v1/history/{r.headers['X-History-Id']}", headers=headers)).json()
    assert item["source_id"] == source
    assert (item["text"], item["voice_name"], item["audio_format"]) == ("a line", "speaker", "mp3")
    r = await client.post(URL, json=body, headers={**headers, "Accept": "audio/wav"})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"


async def test_a_jobs_audio_as_raw_pcm_and_that_edited_again(client, services) -> None:
    headers, key_id = await make_key(client)
    job_id = await plant_job(services, key_id)
    body = {
        "source": {"job_id": job_id},
        "operations": [{"op": "fade", "in_s": 0.2, "out_s": 0.2}, {"op": "to_mono"}],
        "format": "pcm",
        "sample_rate": 22050,
    }
    r = await client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    [item] = r.json()["items"]
    assert item["job_id"] == job_id and item["params"]["sample_rate"] == 22050
    pcm = np.frombuffer(await fetch(client, headers, item), dtype="<i2")
    assert pcm.size / 22050 == pytest.approx(seconds(clip_bytes(OTHER)), abs=0.001)
    assert pcm[0] == 0 and pcm[-1] == 0
    again = {
        "source": {"history_id": item["history_id"]},
        "operations": [{"op": "trim", "end_s": 1}],
    }
    r = await client.post(URL, json=again, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["duration_s"] == pytest.approx(1.0, abs=0.001)


async def test_concat_of_every_kind_of_source(client, services) -> None:
    headers, key_id = await make_key(client)
    item_id = await plant_item(services, key_id, OTHER)
    job_id = await plant_job(services, key_id)
    sources = [{"upload": "second"}, {"history_id": item_id}, {"job_id": job_id}]
    operations = [{"op": "concat", "sources": sources, "gap_s": 0.25}]
    r = await client.post(
        URL,
        files={
            "file": ("a.flac", clip_bytes(), "audio/flac"),
            "second": ("b.flac", clip_bytes(OTHER), "audio/flac"),
        },
        data={"operations": json.dumps(operations)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    expected = seconds(clip_bytes()) + 3 * seconds(clip_bytes(OTHER)) + 3 * 0.25
    assert r.json()["items"][0]["duration_s"] == pytest.approx(expected, abs=0.002)
    assert r.json()["items"][0]["params"]["operations"][0]["sources"] == sources


async def test_split_makes_one_item_per_part(client, services) -> None:
    headers, key_id = await make_key(client)
    source = await plant_item(services, key_id)
    body = {"source": {"history_id": source}, "operations": [{"op": "split", "at_s": [1, 2.5]}]}
    r = await client.post(URL, json=body, params={"download": "true"}, headers=headers)
    assert r.status_code == 400 and r.json()["details"]["field"] == "download", r.text
    assert await history_ids(client, headers) == [source]  # nothing stored
    r = await client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    parts = r.json()["items"]
    durations = [item["duration_s"] for item in parts]
    assert durations == pytest.approx([1.0, 1.5, seconds(clip_bytes()) - 2.5], abs=0.001)
    assert [item["params"]["part"] for item in parts] == [0, 1, 2]
    assert all(item["source_id"] == source for item in parts)


@needs_vad
async def test_trim_silence_uses_the_vad(client) -> None:
    headers, _ = await make_key(client)
    samples, rate = sf.read(io.BytesIO(clip_bytes()), dtype="float32")
    padded = np.concatenate([np.zeros(rate, np.float32), samples, np.zeros(rate, np.float32)])
    buffer = io.BytesIO()
    sf.write(buffer, padded, rate, format="WAV")
    operations = [{"op": "trim_silence", "pad_s": 0.05}]
    r = await client.post(
        URL,
        files={"file": ("padded.wav", buffer.getvalue(), "audio/wav")},
        data={"operations": json.dumps(operations)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    duration = r.json()["items"][0]["duration_s"]
    assert seconds(clip_bytes()) - 1.0 < duration < seconds(clip_bytes()) + 0.2


def test_the_openapi_body_schema_resolves(tmp_path: Path) -> None:
    """The body is read by hand; its documented schema's references must still resolve."""
    doc = create_app(make_settings(tmp_path)).openapi()
    body = doc["paths"][URL]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [node.get("$ref", "")] * ("$ref" in node) + [
                ref for value in node.values() for ref in refs(value)
            ]
        return [ref for value in node for ref in refs(value)] if isinstance(node, list) else []

    assert len(refs(body)) > 10  # the operations, the source
    for ref in refs(body):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(node, dict)


def test_the_schema_offers_every_output_format() -> None:
    assert set(OutputFormat.__args__) == set(SUPPORTED_OUTPUT_FORMATS)  # type: ignore[attr-defined]


# --- errors that store nothing --------------------------------------------------------------------

BAD_BODIES: list[tuple[dict[str, Any], int, str, str]] = [
    ({"operations": []}, 422, "validation_error", "operations"),
    ({"operations": [{"op": "reverse"}]}, 422, "validation_error", "operations.0"),
    (
        {"operations": [{"op": "trim", "start_s": -1}]},
        422,
        "validation_error",
        "operations.0.trim.start_s",
    ),
    (
        {"operations": [{"op": "trim", "start_s": 2, "end_s": 1}]},
        422,
        "validation_error",
        "operations.0.trim",
    ),
    (
        {"operations": [{"op": "fade", "in_s": 0.1}, {"op": "gain", "db": 61}]},
        422,
        "validation_error",
        "operations.1.gain.db",
    ),
    (
        {"operations": [{"op": "normalize", "target_lufs": -71}]},
        422,
        "validation_error",
        "operations.0.normalize.target_lufs",
    ),
    (
        {"operations": [{"op": "speed", "factor": 4.5}]},
        422,
        "validation_error",
        "operations.0.speed.factor",
    ),
    (
        {"operations": [{"op": "pitch", "semitones": -25}]},
        422,
        "validation_error",
        "operations.0.pitch.semitones",
    ),
    (
        {"operations": [{"op": "resample", "sample_rate": 7999}]},
        422,
        "validation_error",
        "operations.0.resample.sample_rate",
    ),
    (
        {"operations": [{"op": "gain", "db": 1}], "sample_rate": 96000},
        422,
        "validation_error",
        "sample_rate",
    ),
    (
        {"operations": [{"op": "gain", "db": 1, "extra": 1}]},
        422,
        "validation_error",
        "operations.0.gain.extra",
    ),
    (
        {"operations": [{"op": "split", "at_s": [2, 1]}]},
        422,
        "validation_error",
        "operations.0.split",
    ),
    ({"operations": [{"op": "trim", "start_s": 60}]}, 422, "unprocessable", "operations.0"),
    (
        {"operations": [{"op": "gain", "db": 1}], "format": "aiff"},
        422,
        "validation_error",
        "format",
    ),
]


async def test_bad_requests_name_the_field_and_store_nothing(client, services) -> None:
    headers, key_id = await make_key(client)
    source = await plant_item(services, key_id)
    for body, status, code, field in BAD_BODIES:
        r = await client.post(URL, json={"source": {"history_id": source}, **body}, headers=headers)
        assert (r.status_code, r.json()["error"]) == (status, code), (body, r.text)
        named = [p["field"] for p in r.json()["details"].get("problems", [])]
        assert field in named or r.json()["details"].get("field") == field, (body, r.text)
    r = await client.post(
        URL, json={"source": {}, "operations": [{"op": "to_mono"}]}, headers=headers
    )
    assert r.status_code == 422 and "exactly one" in r.text
    r = await client.post(
        URL, content=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    r = await client.post(
        URL,
        files={"file": ("a.flac", clip_bytes(), "audio/flac")},
        data={"operations": "[{"},
        headers=headers,
    )
    assert r.status_code == 400 and r.json()["details"]["field"] == "operations", r.text
    assert await history_ids(client, headers) == [source]


async def test_limits_on_length_and_operations(client, services) -> None:
    headers, key_id = await make_key(client)
    source = await plant_item(services, key_id)  # 4.3 s
    services.settings.limits.max_edit_output_s = 6.0
    services.settings.limits.max_edit_operations = 3
    slow = {"source": {"history_id": source}, "operations": [{"op": "speed", "factor": 0.5}]}
    r = await client.post(URL, json=slow, headers=headers)
    assert r.status_code == 422 and r.json()["error"] == "audio_duration_out_of_range", r.text
    assert r.json()["details"]["field"] == "operations.0"
    many = {"source": {"history_id": source}, "operations": [{"op": "gain", "db": 0}] * 4}
    r = await client.post(URL, json=many, headers=headers)
    assert r.status_code == 400 and r.json()["details"]["field"] == "operations", r.text
    trimmed_first = {
        "source": {"history_id": source},
        "operations": [{"op": "trim", "end_s": 2}, {"op": "speed", "factor": 0.5}],
    }
    assert (await client.post(URL, json=trimmed_first, headers=headers)).status_code == 201


async def test_a_job_without_audio_is_409(client, services) -> None:
    headers, key_id = await make_key(client)
    for status in (JobStatus.PENDING, JobStatus.FAILED):
        job_id = await plant_job(services, key_id, status=status)
        body = {"source": {"job_id": job_id}, "operations": [{"op": "gain", "db": 1}]}
        r = await client.post(URL, json=body, headers=headers)
        assert r.status_code == 409 and r.json()["error"] == "source_not_ready", r.text
        assert r.json()["details"]["status"] == status.value
    assert await history_ids(client, headers) == []


@pytest.mark.parametrize("where", ["source", "concat"])
@pytest.mark.parametrize("kind", ["history_id", "job_id"])
async def test_another_keys_sources_are_404(client, services, kind, where) -> None:
    owner, owner_id = await make_key(client)
    stranger, stranger_id = await make_key(client)
    foreign = await (plant_item if kind == "history_id" else plant_job)(services, owner_id)
    own = await plant_item(services, stranger_id)
    ref = {kind: foreign}
    body: dict[str, Any] = {"source": ref, "operations": [{"op": "gain", "db": 1}]}
    if where == "concat":
        body = {"source": {"history_id": own}, "operations": [{"op": "concat", "sources": [ref]}]}
    r = await client.post(URL, json=body, headers=stranger)
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    assert await history_ids(client, stranger) == [own]
    assert len(await history_ids(client, owner)) == (1 if kind == "history_id" else 0)
