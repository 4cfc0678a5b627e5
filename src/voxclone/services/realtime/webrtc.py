"""A realtime session over WebRTC, as OpenAI's ``POST /v1/realtime/calls``: the person's
microphone arrives as an audio track, the answer leaves as one, and the session's events (GA
names) travel on the data channel the client opens (``oai-events``). Audio never goes on the
channel: ``response.output_audio.delta`` becomes the outgoing track, which plays it in real
time; a barge-in (or ``output_audio_buffer.clear``) drops what the track has not played yet.

The same ``RealtimeSession`` runs a WebSocket session; this module is only its transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import soxr
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, AudioResampler

from voxclone.core.errors import InvalidInput, SessionExpired
from voxclone.core.types import FloatArray
from voxclone.services.realtime import audio as codec
from voxclone.services.realtime.dialect import event_in, event_out
from voxclone.services.realtime.items import new_id
from voxclone.services.realtime.respond import FATAL
from voxclone.services.realtime.session import RealtimeSession

log = logging.getLogger(__name__)

RATE = 24000
"""The outgoing track's sample rate (the protocol's PCM16 rate; aiortc's Opus encoder
resamples to 48 kHz)."""
FRAME_S = 0.02
CHANNEL = "oai-events"
AUDIO_DELTA = "response.audio.delta"
"""The session's own (beta) name of an audio delta, which the track plays."""
CONNECT_TIMEOUT_S = 30.0
"""A call whose peer has not connected by then is ended (its session slot freed)."""


class SpeakerTrack(MediaStreamTrack):
    """The answer's audio as a live track: 20 ms frames in real time, silence between answers."""

    kind = "audio"

    def __init__(self, on_drained: Callable[[], None]) -> None:
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._on_drained = on_drained
        self._start: float | None = None
        self._sent = 0
        self._frame = int(RATE * FRAME_S)

    @property
    def queued_ms(self) -> int:
        return len(self._pending) * 1000 // RATE

    def push(self, samples: FloatArray) -> None:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        self._pending = np.concatenate([self._pending, pcm])

    def clear(self) -> int:
        """Drop what has not been played; how many ms that was."""
        dropped = self.queued_ms
        self._pending = np.zeros(0, dtype=np.int16)
        return dropped

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._sent / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        had = len(self._pending)
        chunk = self._pending[: self._frame]
        self._pending = self._pending[self._frame :]
        if len(chunk) < self._frame:
            chunk = np.concatenate([chunk, np.zeros(self._frame - len(chunk), dtype=np.int16)])
        if had and not len(self._pending):
            self._on_drained()
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += self._frame
        return frame


class Call:
    """One WebRTC call: its peer connection, tracks and data channel around a session."""

    def __init__(self, *, ice_servers: list[str], key_id: str) -> None:
        self.id = new_id("rtc")
        self.key_id = key_id
        servers = [RTCIceServer(urls=url) for url in ice_servers]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.speaker = SpeakerTrack(on_drained=self._drained)
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        self._session: RealtimeSession | None = None
        self._channel: RTCDataChannel | None = None
        self._outbox: list[str] = []
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._speaking_response: str | None = None
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)

    # --- signalling ------------------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer to the client's offer (ICE candidates gathered into it)."""
        pc = self.pc
        pc.on("track", self._on_track)
        pc.on("datachannel", self._on_datachannel)
        pc.on("connectionstatechange", self._on_state)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as exc:  # aiortc's parser raises whatever a malformed line trips
            raise InvalidInput(f"the SDP offer could not be read: {exc}", field="sdp") from None
        if not any(t.kind == "audio" for t in pc.getTransceivers()):
            raise InvalidInput("the SDP offer has no audio (m=audio) section", field="sdp")
        pc.addTrack(self.speaker)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        return str(pc.localDescription.sdp)

    # --- the session's events --------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        """A server event of the session: audio to the track, the rest to the channel."""
        kind = event.get("type")
        if kind == AUDIO_DELTA and self._session is not None:
            fmt = self._session.config.output_audio_format
            samples = codec.decode(event["delta"], fmt)
            if codec.RATES[fmt] != RATE:
                samples = soxr.resample(samples, codec.RATES[fmt], RATE).astype(np.float32)
            if not self.speaker.queued_ms:
                self._speaking_response = event.get("response_id")
                await self._emit(
                    {"type": "output_audio_buffer.started", "response_id": self._speaking_response}
                )
            self.speaker.push(samples)
            return
        if kind == "input_audio_buffer.speech_started" and self._interrupts():
            await self._clear_output()
        for out in event_out(event):
            await self._emit(out)
        if kind == "response.done" and event["response"]["status"] == "cancelled":
            await self._clear_output()

    def _interrupts(self) -> bool:
        session = self._session
        return bool(
            session is not None
            and session.config.turn_detection is not None
            and session.config.turn_detection.interrupt_response
        )

    async def _clear_output(self) -> None:
        if self.speaker.clear():
            await self._emit(
                {"type": "output_audio_buffer.cleared", "response_id": self._speaking_response}
            )
            self._speaking_response = None

    def _drained(self) -> None:
        response_id, self._speaking_response = self._speaking_response, None
        self._spawn(self._emit({"type": "output_audio_buffer.stopped", "response_id": response_id}))

    async def _emit(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", new_id("event"))
        text = json.dumps(event)
        channel = self._channel
        if channel is None or channel.readyState != "open":
            self._outbox.append(text)
            return
        channel.send(text)

    # --- the peer -------------------------------------------------------------------------------

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if self._channel is not None:
            return  # the first channel carries the events; others are ignored
        self._channel = channel

        @channel.on("open")
        def _opened() -> None:
            self._flush()

        @channel.on("message")
        def _message(message: str | bytes) -> None:
            if isinstance(message, str):
                self._inbox.put_nowait(message)

        if channel.readyState == "open":
            self._flush()

    def _flush(self) -> None:
        channel = self._channel
        if channel is None:
            return
        for text in self._outbox:
            channel.send(text)
        self._outbox.clear()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track))

    async def _on_state(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            self.end(f"the peer connection {self.pc.connectionState}")

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The microphone, resampled to the session's rate, into the session's input."""
        while not self.ended.is_set():
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            session = self._session
            if session is None or not isinstance(frame, AudioFrame):
                continue
            pcm = np.concatenate(
                [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
                or [np.zeros(0, dtype=np.int16)]
            )
            samples = pcm.astype(np.float32) / 32768.0
            if session.rate != RATE:
                samples = soxr.resample(samples, RATE, session.rate).astype(np.float32)
            await self._guarded(session.append_audio(samples))

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Run a session step; a fatal error ends the call after an ``error`` event."""
        try:
            await work
        except FATAL as exc:
            assert self._session is not None
            await self._session.send_error(exc)
            self.end(exc.code)

    # --- the call's life ----------------------------------------------------------------------

    async def serve(self, session: RealtimeSession, *, max_s: float) -> None:
        """Handle the channel's events until the call ends (hangup, the peer gone, the
        session's length limit, or no connection within CONNECT_TIMEOUT_S)."""
        self._session = session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        connect_by = loop.time() + CONNECT_TIMEOUT_S
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            while not self.ended.is_set():
                now = loop.time()
                connected = self.pc.connectionState == "connected"
                if now >= deadline:
                    await session.send_error(
                        SessionExpired(
                            f"the session reached its limit of {max_s:g} s", max_session_s=max_s
                        )
                    )
                    self.end("session_expired")
                    break
                if now >= connect_by and not connected:
                    self.end("the peer never connected")
                    break
                wake_at = deadline if connected else min(deadline, connect_by)
                getter = asyncio.ensure_future(self._inbox.get())
                done, _ = await asyncio.wait(
                    {getter, ended}, timeout=wake_at - now, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    continue
                await self._guarded(self._handle(session, getter.result()))
        finally:
            ended.cancel()

    async def _handle(self, session: RealtimeSession, text: str) -> None:
        try:
            event = json.loads(text)
            if not isinstance(event, dict):
                raise InvalidInput("an event must be a JSON object")
            if event.get("type") == "output_audio_buffer.clear":
                await self._clear_output()
                return
            event = event_in(event)
        except (ValueError, InvalidInput) as exc:
            error = exc if isinstance(exc, InvalidInput) else InvalidInput("events must be JSON")
            await session.send_error(error)
            return
        await session.handle(event)

    def end(self, reason: str) -> None:
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()

    async def close(self) -> None:
        self.end("closed")
        self.speaker.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.pc.close()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
