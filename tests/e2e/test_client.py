"""voxclone's own Python client (sync and async) against a live server: uvicorn on loopback,
real Piper, real Whisper, real DeepFilterNet3. One server serves the whole module."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ADMIN_KEY, EVAL_SPEECH, make_settings
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.audio import decode_audio
from voxclone.client import (
    AsyncClient,
    Audio,
    AuthenticationError,
    Client,
    InvalidRequest,
    JobFailed,
    JobQueued,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
)
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.engine

TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny day."


def words(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch == " " else " " for ch in text.lower())
    return " ".join(kept.split())


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("client") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="module")
def admin(server: str) -> Iterator[Client]:
    with Client(server, api_key=ADMIN_KEY) as client:
        yield client


def new_key(admin: Client, label: str, **limits: int) -> str:
    return admin.keys.create(label, **limits).api_key


@pytest.fixture(scope="module")
def vx(server: str, admin: Client) -> Iterator[Client]:
    with Client(server, api_key=new_key(admin, "client")) as client:
        yield client


@pytest.fixture(scope="module")
def voice_id(vx: Client) -> str:
    """A Piper voice cloned from a real recording."""
    voice = vx.voices.create("narrator", reference_clip(), backend="piper", lang="en")
    assert voice.name == "narrator" and voice.backend == "piper"
    assert voice.status == "ready", voice
    assert 5 <= voice.ref_duration_s <= 12
    return voice.voice_id


def test_voices_list_get_find_update(vx: Client, voice_id: str) -> None:
    assert voice_id in [v.voice_id for v in vx.voices.list()]
    assert vx.voices.get(voice_id).name == "narrator"
    assert vx.voices.find("narrator").voice_id == voice_id
    assert vx.voices.find(voice_id).voice_id == voice_id
    changed = vx.voices.update(voice_id, description="a test voice", tags=["test"])
    assert changed.description == "a test voice" and changed.tags == ["test"]
    page = vx.voices.page(limit=1)
    assert len(page.voices) == 1
    samples = vx.voices.samples(voice_id)
    assert len(samples.samples) == 1 and samples.samples[0].primary
    reference = vx.voices.reference(voice_id)
    assert decode_audio(reference.data).audio.duration_s == pytest.approx(
        vx.voices.get(voice_id).ref_duration_s, abs=0.05
    )


def test_synthesize_waits_for_the_job_then_hits_the_cache(vx: Client, voice_id: str) -> None:
    seen: list[float] = []
    audio = vx.synthesis.synthesize(voice_id, TEXT, format="wav", on_progress=seen.append)
    assert audio.content_type == "audio/wav"
    assert audio.job_id is not None and not audio.cache_hit
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    samples, rate = sf.read(io.BytesIO(audio.data), dtype="float32")
    assert rate == 22050
    assert 2.5 < len(samples) / rate < 8.0
    assert rms(samples) > 0.01
    job = vx.jobs.get(audio.job_id)
    assert job.status == "ready" and job.kind == "synthesize" and job.voice_id == voice_id
    # The same request again: straight from the cache, no job.
    again = vx.synthesis.submit(voice_id, TEXT, format="wav")
    assert isinstance(again, Audio) and again.cache_hit and again.data == audio.data
    # Whisper hears the words.
    heard = vx.transcriptions.transcribe(("speech.wav", audio.data), language="en")
    assert jiwer.wer(words(TEXT), words(heard.text)) <= 0.25, heard.text
    assert heard.duration == pytest.approx(len(samples) / rate, abs=0.05)
    assert heard.segments and heard.segments[0].start >= 0


def test_submit_and_wait_explicitly(vx: Client, voice_id: str) -> None:
    queued = vx.synthesis.submit(voice_id, "Waiting for a job to finish.", format="mp3")
    job_id = queued.job_id  # type: ignore[union-attr]
    job = vx.jobs.wait(job_id, timeout=120)
    assert job.status == "ready" and job.audio_duration_s
    audio = vx.jobs.audio(job_id)
    assert audio.content_type == "audio/mpeg"
    assert decode_audio(audio.data).audio.duration_s == pytest.approx(job.audio_duration_s, 0.1)
    assert job_id in [j.job_id for j in vx.jobs.list(kind="synthesize").jobs]


def test_text_to_speech_and_streaming(vx: Client, voice_id: str) -> None:
    pcm = vx.synthesis.text_to_speech(voice_id, "Hello there.", output_format="pcm_16000")
    samples = np.frombuffer(pcm.data, dtype="<i2")
    assert pcm.duration_s is not None
    assert len(samples) / 16000 == pytest.approx(pcm.duration_s, abs=0.01)
    text = "Streaming starts right away. The second sentence follows. Then a third one."
    with vx.synthesis.stream(voice_id, text, output_format="mp3") as stream:
        assert stream.content_type == "audio/mpeg"
        assert stream.headers["X-Cache"] == "MISS"
        chunks = list(stream.iter_bytes())
    assert len(chunks) >= 2
    decoded = decode_audio(b"".join(chunks)).audio
    assert 3.0 < decoded.duration_s < 10.0
    assert rms(decoded.samples) > 0.01


def test_captions_and_denoise(vx: Client) -> None:
    clip = reference_clip()
    srt = vx.transcriptions.captions(clip, format="srt", language="en")
    assert srt.startswith("1\n") and " --> " in srt
    cleaned = vx.audio.denoise(clip, format="wav")
    original = decode_audio(clip.read_bytes()).audio
    assert cleaned.duration_s == pytest.approx(original.duration_s, abs=0.02)
    assert rms(decode_audio(cleaned.data).audio.samples) > 0.005


def test_history_and_usage(vx: Client, voice_id: str) -> None:
    vx.synthesis.synthesize(voice_id, "History keeps this line.", format="wav")
    page = vx.history.list(search="History keeps", limit=10)
    assert len(page.items) == 1
    item = page.items[0]
    assert item.voice_id == voice_id and item.characters == len("History keeps this line.")
    assert vx.history.get(item.history_id).text == item.text
    assert vx.history.audio(item.history_id).data[:4] == b"RIFF"
    assert vx.history.star(item.history_id).starred
    usage = vx.account.usage(group_by=["backend"])
    assert usage.totals.characters >= len("History keeps this line.")
    by_backend = {group.backend: group for group in usage.by_backend or []}
    assert by_backend["piper"].characters == usage.totals.characters  # only Piper spoke
    assert usage.quota is not None and usage.quota.used == usage.totals.characters
    assert vx.history.delete([item.history_id]).deleted == [item.history_id]
    with pytest.raises(NotFound):
        vx.history.get(item.history_id)


def clips_of(speaker: str, count: int) -> list[Path]:
    """``count`` real recordings of one speaker of the evaluation set, 3 s or longer."""
    with (EVAL_SPEECH / "manifest.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] == speaker]
    found = [EVAL_SPEECH / r["path"] for r in rows if float(r["duration_s"]) >= 3][:count]
    assert len(found) == count, speaker
    return found


def test_speakers_enroll_verify_identify(vx: Client) -> None:
    first, second = clips_of("librispeech_test-other_1688", 2)
    (other,) = clips_of("vctk_p225", 1)
    speaker = vx.speakers.create("margaret's father", meta={"book": "north and south"})
    assert not speaker.enrolled
    enrolled = vx.speakers.enroll(speaker.speaker_id, first)
    assert enrolled.speaker.enrolled and enrolled.enrollment.speech_s > 1
    same = vx.speakers.verify(speaker.speaker_id, second)
    different = vx.speakers.verify(speaker.speaker_id, other)
    assert same.match and not different.match and same.score > different.score
    found = vx.speakers.identify(second)
    assert [c.speaker_id for c in found.candidates][:1] == [speaker.speaker_id]
    assert [e.enrollment_id for e in vx.speakers.enrollments(speaker.speaker_id)] == [
        enrolled.enrollment.enrollment_id
    ]
    vx.speakers.delete(speaker.speaker_id)
    with pytest.raises(NotFound):
        vx.speakers.get(speaker.speaker_id)


def test_samples_export_and_import(vx: Client, voice_id: str) -> None:
    (extra,) = clips_of("librispeech_test-other_1998", 1)
    added = vx.voices.add_sample(voice_id, extra)
    assert added.sample is not None and len(vx.voices.samples(voice_id).samples) == 2
    archive = vx.voices.export(voice_id)
    assert archive[:2] == b"PK"
    copy = vx.voices.import_(("narrator.zip", archive))
    assert copy.voice_id != voice_id and copy.name == "narrator"
    assert len(vx.voices.samples(copy.voice_id).samples) == 2
    vx.voices.delete_sample(voice_id, added.sample.sample_id)
    assert len(vx.voices.samples(voice_id).samples) == 1
    vx.voices.delete(copy.voice_id)


def test_a_story_built_and_rendered(vx: Client, voice_id: str) -> None:
    story = vx.stories.create(
        "Tale",
        script="NARRATOR: Once upon a time.\n\nHERO: I will go now.",
        voices={"NARRATOR": voice_id, "HERO": voice_id},
    )
    assert len(story.tracks) == 2 and len(story.clips) == 2
    track = vx.stories.add_track(story.story_id, name="coda")
    clip = vx.stories.add_clip(
        story.story_id, track_id=track.track_id, text="The end.", voice_id=voice_id, start_s=4.0
    )
    assert clip.kind == "text" and clip.start_s == 4.0
    queued = vx.stories.render(story.story_id, format="wav")
    job = vx.jobs.wait(queued.job_id, timeout=300)
    mix = vx.stories.audio(story.story_id)
    assert mix.job_id == job.job_id
    seconds = decode_audio(mix.data).audio.duration_s
    assert seconds == pytest.approx(job.audio_duration_s, abs=0.05) and seconds > 4.5
    assert vx.stories.get(story.story_id).last_render_job_id == job.job_id
    assert story.story_id in [s.story_id for s in vx.stories.list()]


def test_errors_carry_the_servers_json(
    server: str, admin: Client, vx: Client, voice_id: str
) -> None:
    with Client(server, api_key="vx_wrong") as wrong, pytest.raises(AuthenticationError) as bad:
        wrong.voices.list()
    assert bad.value.status_code == 401 and bad.value.code and bad.value.message
    with Client(server, api_key=new_key(admin, "other")) as other:
        with pytest.raises(NotFound) as missing:
            other.voices.get(voice_id)
        assert missing.value.code == "not_found"
        with pytest.raises(NotFound):
            other.synthesis.synthesize(voice_id, TEXT)
    with pytest.raises(InvalidRequest) as invalid:
        vx.synthesis.text_to_speech(voice_id, "Hello.", output_format="aac")
    assert invalid.value.status_code in (400, 422)
    with pytest.raises(PermissionDenied):
        vx.keys.list()
    with Client(server, api_key=new_key(admin, "tiny", monthly_char_quota=10)) as tiny:
        tiny_voice = tiny.voices.create("tiny", reference_clip(), backend="piper")
        with pytest.raises(QuotaExceeded) as quota:
            tiny.synthesis.synthesize(tiny_voice.voice_id, TEXT)
    assert quota.value.status_code == 402 and quota.value.code == "quota_exceeded"
    assert quota.value.details["limit"] == 10, quota.value.details
    assert quota.value.details["requested"] == len(TEXT)


def test_a_cancelled_job_raises_job_failed(vx: Client, voice_id: str) -> None:
    """A long text, cancelled at once: ``wait`` raises JobFailed with the job (or, when Piper
    was quicker than the cancel, returns it ready)."""
    queued = vx.synthesis.submit(voice_id, "A job that is cancelled at once. " * 40)
    assert isinstance(queued, JobQueued)
    cancelled = vx.jobs.cancel(queued.job_id)
    assert cancelled.status in ("cancelled", "ready"), cancelled
    if cancelled.status == "cancelled":
        with pytest.raises(JobFailed) as failed:
            vx.jobs.wait(queued.job_id)
        assert failed.value.job.status == "cancelled"
    else:
        assert vx.jobs.wait(queued.job_id).status == "ready"


def test_a_429_beyond_max_wait_raises_with_retry_after(server: str, admin: Client) -> None:
    key = new_key(admin, "slow", rate_limit_per_minute=1)
    with Client(server, api_key=key, retry=RetryPolicy(max_wait_s=5)) as impatient:
        impatient.voices.list()
        with pytest.raises(RateLimited) as limited:  # Retry-After over max_wait_s: raised
            impatient.voices.list()
    wait = limited.value.retry_after_s
    assert wait is not None and 1 <= wait <= 60
    assert limited.value.code == "rate_limited"
    # Waiting out the server's window (up to a minute) and then succeeding is
    # tests/unit/client/test_client_core.py::test_429_waits_for_retry_after_then_succeeds.


async def test_async_client_same_flows(server: str, admin: Client, voice_id: str) -> None:
    key = new_key(admin, "async")
    async with AsyncClient(server, api_key=key) as avx:
        voice = await avx.voices.create("async", reference_clip(), backend="piper")
        assert voice.status == "ready"
        seen: list[float] = []
        audio = await avx.synthesis.synthesize(
            voice.voice_id, TEXT, format="wav", on_progress=seen.append
        )
        assert audio.job_id and seen[-1] == 1.0
        assert (await avx.jobs.get(audio.job_id)).status == "ready"
        heard = await avx.transcriptions.transcribe(("a.wav", audio.data), language="en")
        assert jiwer.wer(words(TEXT), words(heard.text)) <= 0.25, heard.text
        async with avx.synthesis.stream(voice.voice_id, "One. Two sentences.") as stream:
            chunks = [chunk async for chunk in stream.aiter_bytes()]
        assert decode_audio(b"".join(chunks)).audio.duration_s > 0.5
        page = await avx.history.list()
        assert {i.text for i in page.items} >= {TEXT}
        assert (await avx.account.usage()).totals.characters >= len(TEXT)
        with pytest.raises(NotFound):
            await avx.voices.get(voice_id)  # the other key's voice
    async with AsyncClient(server, api_key="vx_nope") as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.history.list()
