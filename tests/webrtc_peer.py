"""A WebRTC client of ``POST /v1/realtime/calls`` written with aiortc, as a browser would use
it: a microphone track that plays a real clip in real time (then silence), the ``oai-events``
data channel, and the answer's audio track recorded."""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import soxr
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

RATE = 24000
FRAME = 480  # 20 ms


class ClipTrack(MediaStreamTrack):
    """A microphone that says ``samples`` (24 kHz) once ``play`` is set, silence otherwise."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue = np.zeros(0, dtype=np.float32)
        self._start: float | None = None
        self._sent = 0
        self.said_from: float | None = None
        """When the first frame of the last ``say`` went (``time.perf_counter``)."""
        self.said_until: float | None = None
        """When its last frame went (None while it is still being said)."""

    def say(self, samples: np.ndarray) -> None:
        self._queue = np.concatenate([self._queue, samples.astype(np.float32)])
        self.said_from = self.said_until = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk, self._queue = self._queue[:FRAME], self._queue[FRAME:]
        if len(chunk) and self.said_from is None:
            self.said_from = time.perf_counter()
        if len(chunk) and not len(self._queue):
            self.said_until = time.perf_counter()
        chunk = np.pad(chunk, (0, FRAME - len(chunk)))
        pcm = (np.clip(chunk, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame


@dataclass
class Call:
    pc: RTCPeerConnection
    mic: ClipTrack
    location: str
    events: list[dict[str, Any]] = field(default_factory=list)
    heard: list[np.ndarray] = field(default_factory=list)
    """The answer track's audio, 24 kHz mono, frame by frame."""
    heard_at: list[float] = field(default_factory=list)
    """When each of those frames arrived (``time.perf_counter``)."""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    channel: Any = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, kind: str, **fields: Any) -> None:
        self.channel.send(json.dumps({"type": kind, **fields}))

    async def until(self, kind: str, within: float = 120, after: int = 0) -> dict[str, Any]:
        """The first event of ``kind`` from the ``after``-th on; an ``error`` event fails."""
        deadline = time.monotonic() + within
        seen = after
        while True:
            for event in self.events[seen:]:
                if event["type"] == "error":
                    raise AssertionError(f"error event: {event}")
                if event["type"] == kind:
                    return event
            seen = len(self.events)
            self._arrived.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} in {[e['type'] for e in self.events]}")
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                continue

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def audio(self) -> np.ndarray:
        return np.concatenate(self.heard) if self.heard else np.zeros(0, dtype=np.float32)


async def open_call(
    base_url: str, key: str, *, model: str = "echo", session: dict[str, Any] | None = None
) -> Call:
    pc = RTCPeerConnection()
    mic = ClipTrack()
    pc.addTrack(mic)
    channel = pc.createDataChannel("oai-events")
    opened = asyncio.Event()
    call = Call(pc=pc, mic=mic, location="", channel=channel)

    @channel.on("open")
    def _open() -> None:
        opened.set()

    @channel.on("message")
    def _message(text: str) -> None:
        event = json.loads(text)
        event["_at"] = time.perf_counter()
        call.events.append(event)
        call._arrived.set()

    @pc.on("track")
    def _track(track: MediaStreamTrack) -> None:
        async def record() -> None:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                pcm = frame.to_ndarray()  # packed s16, interleaved channels
                channels = len(frame.layout.channels)
                mono = pcm.reshape(-1, channels).mean(axis=1) / 32768.0
                call.heard_at.append(time.perf_counter())
                call.heard.append(
                    soxr.resample(mono.astype(np.float32), frame.sample_rate, RATE).astype(
                        np.float32
                    )
                )

        call.tasks.add(asyncio.ensure_future(record()))

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"}
    if session is not None:
        files = {"sdp": (None, pc.localDescription.sdp), "session": (None, json.dumps(session))}
        request = {"files": files, "headers": {"Authorization": f"Bearer {key}"}}
    else:
        request = {"content": pc.localDescription.sdp, "headers": headers}
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"{base_url}/v1/realtime/calls?model={model}", **request)
    if r.status_code != 201:
        await pc.close()
        raise CallRefused(r.status_code, r.json())
    assert r.headers["content-type"].startswith("application/sdp")
    call.location = r.headers["location"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r.text, type="answer"))
    await asyncio.wait_for(opened.wait(), 30)
    return call


class CallRefused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
