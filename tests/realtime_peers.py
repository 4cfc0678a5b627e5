"""Peers of the realtime tests and benchmark: a client written to OpenAI's Realtime protocol
(``websockets``), a scripted OpenAI-compatible chat server (streamed, server-sent events), and
a real speech clip at 24 kHz."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from websockets.sync.client import ClientConnection, connect

from tests.conftest import EVAL_SPEECH

RATE = 24000
CLIP = "cmu_arctic/aew/arctic_a0003.wav"
CLIP_WORDS = "For the twentieth time that evening the two men shook hands."


def speech_clip(path: str = CLIP) -> np.ndarray:
    """A real recording as float32 at 24 kHz, its leading and trailing silence trimmed."""
    samples, rate = sf.read(EVAL_SPEECH / path, dtype="float32", always_2d=True)
    mono = soxr.resample(samples.mean(axis=1), rate, RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(mono) > 0.02)
    return mono[max(0, loud[0] - 2400) : loud[-1] + 1200]


def pcm16(samples: np.ndarray) -> str:
    pcm = np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode()


def from_pcm16(deltas: list[str]) -> np.ndarray:
    raw = b"".join(base64.b64decode(d) for d in deltas)
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768


@dataclass
class RealtimeClient:
    """One session, its events kept in order of arrival."""

    ws: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls, base_url: str, key: str, *, model: str = "echo", beta: bool = True
    ) -> Iterator[RealtimeClient]:
        """``beta``: the beta dialect's event names (``OpenAI-Beta: realtime=v1``); else GA."""
        url = f"{base_url.replace('http', 'ws', 1)}/v1/realtime?model={model}"
        headers = {"Authorization": f"Bearer {key}"}
        if beta:
            headers["OpenAI-Beta"] = "realtime=v1"
        with connect(url, additional_headers=headers, open_timeout=60, max_size=None) as ws:
            yield cls(ws)

    def send(self, kind: str, **fields: Any) -> None:
        self.ws.send(json.dumps({"type": kind, **fields}))

    def recv(self, timeout: float = 60) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        event["_at"] = time.perf_counter()
        self.events.append(event)
        return event

    def until(self, kind: str, timeout: float = 120) -> dict[str, Any]:
        """Events up to the next one of ``kind``; an ``error`` event fails."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if event["type"] == kind:
                return event
            assert event["type"] != "error", event

    def append(self, samples: np.ndarray, *, chunk_ms: int = 100, pace: float = 0.0) -> float:
        """Send ``samples`` in chunks; ``pace`` 1.0 is real time, 0 as fast as possible.
        The clock time the last chunk went."""
        step = RATE * chunk_ms // 1000
        started = time.perf_counter()
        for at in range(0, len(samples), step):
            if pace:
                wait = started + at / RATE / pace - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            self.send("input_audio_buffer.append", audio=pcm16(samples[at : at + step]))
        return time.perf_counter()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def silence(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.standard_normal(int(RATE * seconds)) * 1e-4).astype(np.float32)


# --- a scripted OpenAI-compatible chat server -------------------------------------------------


@dataclass
class ChatScript:
    """Answers every chat request with the next reply, streamed a few words at a time;
    ``pause_s`` is waited after the first sentence (an LLM that is slow to go on)."""

    replies: list[str]
    pause_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def completions(request: Request) -> StreamingResponse:
            body = await request.json()
            self.requests.append(
                {"body": body, "authorization": request.headers.get("authorization")}
            )
            reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
            return StreamingResponse(
                self._events(reply, body["model"]), media_type="text/event-stream"
            )

        return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])

    async def _events(self, reply: str, model: str) -> Any:
        words = reply.split(" ")
        first_sentence_done = False
        for n, word in enumerate(words):
            piece = word if n == 0 else f" {word}"
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            yield f"data: {json.dumps(chunk)}\n\n"
            if word.endswith((".", "!", "?")) and not first_sentence_done:
                first_sentence_done = True
                await asyncio.sleep(self.pause_s)
        end = {"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield f"data: {json.dumps(end)}\n\n"
        yield "data: [DONE]\n\n"


def chunks(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for at in range(0, len(samples), size):
        yield samples[at : at + size]


def clip_path(path: str = CLIP) -> Path:
    return EVAL_SPEECH / path
