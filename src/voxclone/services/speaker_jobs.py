"""Who speaks when in a longer recording: a BIOMETRICS job. The recording is stored, VAD
finds its speech, windows of it are scored against the key's enrolled speakers
(``BiometricsService``), and the result lists the labelled segments."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.audio import decode_audio, encode_audio, resample
from voxclone.config import LimitSettings
from voxclone.core.errors import SpeakerNotEnrolled
from voxclone.core.types import Audio, FloatArray, JobKind, JobStatus, new_id, parse_id
from voxclone.db import jobs as job_queries
from voxclone.db import speakers as speaker_queries
from voxclone.db.tables import Job, Speaker
from voxclone.queue.base import JobQueue
from voxclone.services import voiceprints
from voxclone.services.biometrics import BiometricsService, require_print
from voxclone.storage.base import BlobStore

JOB_RATE = 16000
"""A job's recording is stored at this rate (what VAD and the encoder work at)."""


def job_input_key(job_id: str) -> str:
    return f"jobs/{job_id}/input.wav"


class SpeakerJobs:
    def __init__(
        self,
        *,
        biometrics: BiometricsService,
        sessions: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        queue: JobQueue,
        limits: LimitSettings,
    ) -> None:
        self._biometrics = biometrics
        self._sessions = sessions
        self._blobs = blobs
        self._queue = queue
        self._limits = limits

    async def submit(
        self,
        *,
        key_id: str,
        audio: bytes,
        speaker_ids: Sequence[str] | None = None,
        threshold: float | None = None,
        callback_url: str | None = None,
    ) -> Job:
        """Store the recording and queue a job that labels its speech with enrolled speakers;
        ``callback_url`` (checked by the caller) is told when it ends."""
        threshold = self._biometrics.threshold(threshold)
        ids = None
        if speaker_ids is not None:
            ids = sorted({parse_id(s, what="speaker_id") for s in speaker_ids})
            for speaker_id in ids:
                require_print(await self._biometrics.get(key_id=key_id, speaker_id=speaker_id))
        async with self._sessions() as session:
            enrolled = await speaker_queries.list_enrolled_speakers(
                session, key_id=key_id, speaker_ids=ids
            )
        if not enrolled:
            raise SpeakerNotEnrolled(
                "this key has no enrolled speaker to look for; enroll one first "
                "(POST /v1/speakers/{id}/enrollments)"
            )
        decoded = decode_audio(audio, max_seconds=self._limits.max_speech_audio_s)
        stored = await asyncio.to_thread(
            lambda: encode_audio(resample(decoded.audio, JOB_RATE), "wav")
        )
        job_id = new_id()
        input_key = job_input_key(job_id)
        await self._blobs.put(input_key, stored)
        try:
            async with self._sessions() as session:
                job = await job_queries.create_job(
                    session,
                    id=job_id,
                    key_id=key_id,
                    kind=JobKind.BIOMETRICS,
                    params={
                        "input_key": input_key,
                        "speaker_ids": ids,
                        "threshold": threshold,
                        "duration_s": round(decoded.audio.duration_s, 3),
                    },
                    callback_url=callback_url,
                )
                await session.commit()
        except BaseException:
            await self._blobs.delete(input_key)
            raise
        await self._queue.submit(job_id)
        return job

    async def run(self, job: Job) -> None:
        """Run a claimed BIOMETRICS job (from the runner): VAD, windows, scores, result."""
        params = job.params
        audio = decode_audio(await self._blobs.get(params["input_key"])).audio
        async with self._sessions() as session:
            speakers = await speaker_queries.list_enrolled_speakers(
                session, key_id=job.key_id, speaker_ids=params.get("speaker_ids")
            )
        embedder, vad = await self._biometrics.models()
        found = await asyncio.to_thread(vad.segments, audio)
        if not await self._progress(job, 0.1):
            await self.discard_input(job)
            return
        merged = voiceprints.merge_gaps(found, gap_s=self._biometrics.settings.merge_gap_s)
        spans = voiceprints.windows(merged, window_s=self._biometrics.settings.window_s)
        prints = [(s, require_print(s)) for s in speakers]
        labelled: list[dict[str, Any]] = []
        for i, (index, start, end) in enumerate(spans):
            vector = await asyncio.to_thread(embedder.embed, voiceprints.clip(audio, start, end))
            labelled.append(label_window(index, start, end, vector, prints, params["threshold"]))
            if (i + 1) % 10 == 0 and not await self._progress(job, 0.1 + 0.9 * i / len(spans)):
                await self.discard_input(job)
                return
        result = job_result(labelled, speakers, threshold=params["threshold"], audio=audio)
        # Deleted first, so that a job seen finished has nothing left behind; should the write
        # below fail, the job fails (a retry would find no recording), and nothing leaks.
        await self.discard_input(job)
        # Metered before the job is marked finished, keyed by the job: a job retried after a
        # crash here is counted once, and never lost.
        await self._biometrics.meter(
            key_id=job.key_id, entry="job", clip=audio, event_key=f"job:{job.id}"
        )
        async with self._sessions() as session:
            await job_queries.finish_job(
                session,
                job_id=job.id,
                status=JobStatus.READY,
                attempt=job.attempts,
                result=result,
            )
            await session.commit()

    async def discard_input(self, job: Job) -> None:
        """Delete a BIOMETRICS job's recording: the result is all a finished job keeps."""
        if job.params.get("input_key") == job_input_key(job.id):
            await self._blobs.delete_prefix(f"jobs/{job.id}")  # its folder too, not just the file

    async def _progress(self, job: Job, fraction: float) -> bool:
        """Record progress; False when the job is no longer running (cancelled)."""
        async with self._sessions() as session:
            running = await job_queries.set_progress(session, job_id=job.id, progress=fraction)
            await session.commit()
        return running


def label_window(
    index: int,
    start: float,
    end: float,
    vector: FloatArray,
    prints: list[tuple[Speaker, list[float]]],
    threshold: float,
) -> dict[str, Any]:
    best: tuple[float, Speaker | None] = (-1.0, None)
    for speaker, stored in prints:
        value = voiceprints.score(stored, vector)
        if value > best[0]:
            best = (value, speaker)
    best_score, best_speaker = best
    accepted = best_speaker if best_score >= threshold else None
    return {
        "segment": index,
        "start": start,
        "end": end,
        "speaker_id": accepted.id if accepted else None,
        "name": accepted.name if accepted else None,
        "score": best_score,
    }


def job_result(
    windows: list[dict[str, Any]], speakers: list[Speaker], *, threshold: float, audio: Audio
) -> dict[str, Any]:
    """Consecutive windows of one VAD segment with the same label become one segment."""
    segments: list[dict[str, Any]] = []
    for w in windows:
        last = segments[-1] if segments else None
        if last and last["_segment"] == w["segment"] and last["speaker_id"] == w["speaker_id"]:
            last["_scores"].append((w["end"] - w["start"], w["score"]))
            last["end"] = w["end"]
            continue
        segments.append(
            {
                "_segment": w["segment"],
                "_scores": [(w["end"] - w["start"], w["score"])],
                "start": w["start"],
                "end": w["end"],
                "speaker_id": w["speaker_id"],
                "name": w["name"],
            }
        )
    public = []
    for s in segments:
        total = sum(d for d, _ in s["_scores"])
        mean = sum(d * v for d, v in s["_scores"]) / total
        public.append(
            {
                "start": round(s["start"], 3),
                "end": round(s["end"], 3),
                "speaker_id": s["speaker_id"],
                "name": s["name"],
                "score": round(mean, 4),
            }
        )
    summary = []
    for speaker in speakers:
        mine = [s for s in public if s["speaker_id"] == speaker.id]
        if mine:
            speech = sum(s["end"] - s["start"] for s in mine)
            summary.append(
                {
                    "speaker_id": speaker.id,
                    "name": speaker.name,
                    "speech_s": round(speech, 3),
                    "segments": len(mine),
                    "score": round(max(s["score"] for s in mine), 4),
                }
            )
    summary.sort(key=lambda s: -s["speech_s"])
    unknown = sum(s["end"] - s["start"] for s in public if s["speaker_id"] is None)
    return {
        "segments": public,
        "speakers": summary,
        "unknown_speech_s": round(unknown, 3),
        "duration_s": round(audio.duration_s, 3),
        "threshold": threshold,
        "searched": [s.id for s in speakers],
    }
