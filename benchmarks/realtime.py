"""Realtime voice (WS /v1/realtime): how soon does the answer start, and how soon does it stop?

Starts ``voxclone serve`` on loopback (SQLite, Whisper tiny.en, Silero VAD) with its agent
pointed at a scripted OpenAI-compatible chat server in this process that answers at once, and
talks to it with a client written to OpenAI's Realtime protocol. A real recording (CMU Arctic,
3.5 s) is streamed at real-time pace in 40 ms chunks, followed by silence, as a microphone
would; per voice, over ``--turns`` turns of one session:

- answer latency: the end of the person's speech (the last speech sample sent) to the first
  ``response.audio.delta`` of the answer. It includes the silence the server waits for before
  it ends the turn (``--silence-ms``, the session's ``silence_duration_ms``);
- barge-in (Piper): while an answer is playing, the person speaks again: the speech onset (the
  first chunk sent holding speech) to ``response.done`` (cancelled), after which no audio of
  that answer comes.

Voices: Piper's stock voice and a Kokoro voice fitted to another real recording (``--kokoro
stock`` uses the stock ``af_heart`` instead of fitting).

Over WebRTC (``POST /v1/realtime/calls``, an aiortc client: Opus both ways, the receiver's
jitter buffer included), with Piper: the last frame of speech sent on the microphone track to
the first loud frame (RMS > 0.01) received on the answer track; and the barge-in onset (the
first frame of the interrupting clip sent) to the last loud frame of the cut answer received.

Prints one table (ms).

    .venv/bin/python benchmarks/realtime.py [--turns 20] [--silence-ms 400] [--kokoro fit]
        [--transports ws,webrtc]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.realtime_peers import RATE, ChatScript, pcm16, silence, speech_clip  # noqa: E402
from tests.remote.servers import ThreadServer, free_port  # noqa: E402
from tests.webrtc_peer import Call, open_call  # noqa: E402

ADMIN = "vxadmin_benchmark"
PIPER = "en_US-joe-medium"
CHUNK_MS = 40
REPLIES = [
    f"Sure, reply number {n} is on its way. Let me think about it for a moment."
    for n in range(1, 500)
]
"""A new text each turn, so that no sentence of an answer is a synthesis-cache hit."""
LONG_REPLY = " ".join(
    f"This is sentence number {n} of a long answer that keeps on going." for n in range(1, 9)
)
FIT_CLIP = "vctk/p225/p225_016.wav"


class Session:
    """A realtime session; a thread receives events and stamps each with its arrival time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        try:
            for message in self.ws:
                event = json.loads(message)
                event["_at"] = time.perf_counter()
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
        except Exception:
            return

    def send(self, kind: str, **fields: Any) -> None:
        self.ws.send(json.dumps({"type": kind, **fields}))

    def wait(self, kind: str, after: int, timeout: float = 120) -> tuple[int, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for at in range(after, len(self.events)):
                    event = self.events[at]
                    if event["type"] == "error":
                        raise SystemExit(f"error event: {event}")
                    if event["type"] == kind:
                        return at, event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"no {kind} within {timeout} s")
                self._cond.wait(left)

    def stream(self, samples: np.ndarray, *, until: Any = None) -> float:
        """Send ``samples`` at real-time pace; the clock time the last chunk went. ``until``:
        stop early once it returns True."""
        step = RATE * CHUNK_MS // 1000
        started = time.perf_counter()
        for at in range(0, len(samples), step):
            wait = started + at / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            self.send("input_audio_buffer.append", audio=pcm16(samples[at : at + step]))
            if until is not None and until():
                break
        return time.perf_counter()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


STAGES = (
    "input_audio_buffer.speech_stopped",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "response.audio.delta",
)


def answer_latencies(
    url: str, key: str, voice: str, turns: int, silence_ms: int
) -> dict[str, list[float]]:
    """Per stage (the turn's end heard, its transcript, the response, its first audio), the
    ms from the end of the speech, over ``turns`` turns."""
    clip = speech_clip()
    with connect(
        f"{url}/v1/realtime?model=agent",
        additional_headers={"Authorization": f"Bearer {key}", "OpenAI-Beta": "realtime=v1"},
        max_size=None,
    ) as ws:
        session = Session(ws)
        session.wait("session.created", 0)
        session.send(
            "session.update",
            session={"voice": voice, "turn_detection": {"silence_duration_ms": silence_ms}},
        )
        session.wait("session.updated", 0)
        latencies: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for turn in range(turns + 1):  # the first turn warms the engines up
            mark = len(session.events)
            session.stream(silence(0.3))
            speech_end = session.stream(clip)
            first: list[dict[str, Any]] = []

            def answered(mark: int = mark, first: list[dict[str, Any]] = first) -> bool:
                found = [e for e in session.events[mark:] if e["type"] == "response.audio.delta"]
                first[:] = found[:1]
                return bool(found)

            session.stream(silence(5.0), until=answered)
            session.wait("response.done", mark)
            if turn:
                for stage in STAGES:
                    _, event = session.wait(stage, mark)
                    latencies[stage].append((event["_at"] - speech_end) * 1000)
    return latencies


def barge_ins(url: str, key: str, voice: str, turns: int) -> list[tuple[float, float]]:
    """(onset -> response.done, onset -> the last audio delta) of each barge-in, in ms."""
    clip = speech_clip()
    out = []
    with connect(
        f"{url}/v1/realtime?model=echo",
        additional_headers={"Authorization": f"Bearer {key}", "OpenAI-Beta": "realtime=v1"},
        max_size=None,
    ) as ws:
        session = Session(ws)
        session.wait("session.created", 0)
        session.send("session.update", session={"voice": voice})
        session.wait("session.updated", 0)
        for turn in range(turns + 1):
            mark = len(session.events)
            session.send(
                "conversation.item.create",
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": LONG_REPLY}],
                },
            )
            session.send("response.create")
            session.wait("response.audio.delta", mark)
            session.stream(silence(0.8))
            # the onset: when the clip's first chunk goes (it holds the 100 ms before the first
            # loud sample), so the figure is an upper bound by up to that much
            onset = time.perf_counter()
            session.stream(np.concatenate([clip, silence(1.0)]))
            at, done = session.wait("response.done", mark)
            assert done["response"]["status"] == "cancelled", done["response"]["status"]
            deltas = [
                e
                for e in session.events[mark:at]
                if e["type"] == "response.audio.delta"
                and e["response_id"] == done["response"]["id"]
            ]
            session.wait("response.done", at + 1)  # the echo of the barge-in itself
            if turn:
                out.append(((done["_at"] - onset) * 1000, (deltas[-1]["_at"] - onset) * 1000))
    return out


LOUD = 0.01


def loud_frames(call: Call, start: int) -> list[float]:
    """Arrival times of the answer track's loud frames from the ``start``-th on."""
    return [
        at
        for at, frame in zip(call.heard_at[start:], call.heard[start:], strict=False)
        if float(np.sqrt(np.mean(frame**2))) > LOUD
    ]


WEBRTC_STAGES = (
    "input_audio_buffer.speech_stopped",
    "conversation.item.input_audio_transcription.completed",
    "response.created",
    "output_audio_buffer.started",
)


async def webrtc_answers(
    url: str, key: str, voice: str, turns: int, silence_ms: int
) -> dict[str, list[float]]:
    """End of speech on the microphone track -> each stage's event on the data channel, and
    the answer's first sound on the answer track (``"sound"``), in ms."""
    clip = speech_clip()
    session = {"type": "realtime", "audio": {"output": {"voice": voice}, "input": {
        "turn_detection": {"type": "server_vad", "silence_duration_ms": silence_ms}}}}  # fmt: skip
    call = await open_call(url, key, model="agent", session=session)
    out: dict[str, list[float]] = {stage: [] for stage in (*WEBRTC_STAGES, "sound")}
    try:
        await call.until("session.updated")
        for turn in range(turns + 1):
            mark, frames = len(call.events), len(call.heard)
            call.mic.say(np.concatenate([silence(0.3), clip]))
            await call.until("response.done", after=mark)
            await call.until("output_audio_buffer.stopped", after=mark)
            await asyncio.sleep(1.0)  # the answer's tail, still in the receiver's jitter buffer
            end = call.mic.said_until
            assert end is not None
            sound = loud_frames(call, frames)
            if turn and sound:
                out["sound"].append((sound[0] - end) * 1000)
                for stage in WEBRTC_STAGES:
                    event = await call.until(stage, after=mark)
                    out[stage].append((event["_at"] - end) * 1000)
    finally:
        await call.pc.close()
    return out


async def webrtc_barge_ins(url: str, key: str, voice: str, turns: int) -> list[tuple[float, float]]:
    """Onset of the interrupting speech -> (speech_started received, the cut answer's last
    sound received)."""
    clip = speech_clip()
    session = {"type": "realtime", "audio": {"output": {"voice": voice}}}
    call = await open_call(url, key, model="echo", session=session)
    out = []
    try:
        await call.until("session.updated")
        for turn in range(turns + 1):
            mark = len(call.events)
            text = {"type": "input_text", "text": LONG_REPLY}
            call.send(
                "conversation.item.create",
                item={"type": "message", "role": "user", "content": [text]},
            )
            call.send("response.create")
            await call.until("output_audio_buffer.started", after=mark)
            await asyncio.sleep(1.5)
            frames = len(call.heard)
            call.mic.say(np.concatenate([clip, silence(1.0)]))
            started = await call.until("input_audio_buffer.speech_started", after=mark)
            done = await call.until("response.done", after=mark)
            assert done["response"]["status"] == "cancelled", done["response"]["status"]
            await call.until("output_audio_buffer.cleared", after=mark)
            await asyncio.sleep(0.5)
            assert call.mic.said_from is not None
            onset = call.mic.said_from
            cut = [at for at in loud_frames(call, frames) if at < done["_at"] + 0.5]
            # the echo of the interruption itself comes next; wait for it to end
            echo = await call.until("response.done", after=len(call.events) - 1, within=120)
            if echo["response"]["status"] == "completed":
                await call.until("output_audio_buffer.stopped", after=mark + 1)
            if turn:
                last = cut[-1] if cut else onset
                out.append(((started["_at"] - onset) * 1000, (last - onset) * 1000))
    finally:
        await call.pc.close()
    return out


def fitted_voice(url: str, key: str, kokoro: str) -> str:
    if kokoro == "stock":
        return "af_heart"
    clip = REPO.parent / "shared" / "eval" / "speech" / FIT_CLIP
    with httpx.Client(base_url=url, timeout=600) as client:
        r = client.post(
            "/v1/voices",
            data={"name": "fitted", "backend": "local", "lang": "en"},
            files={"ref_audio": (clip.name, clip.read_bytes(), "audio/wav")},
            headers={"X-API-Key": key},
        )
        r.raise_for_status()
        voice_id = str(r.json()["voice_id"])
        for _ in range(1200):
            status = client.get(f"/v1/voices/{voice_id}", headers={"X-API-Key": key}).json()
            if status.get("status", "ready") in ("ready", "active"):
                return voice_id
            if status.get("status") == "failed":
                raise SystemExit(f"fitting failed: {status}")
            time.sleep(0.5)
    raise SystemExit("the Kokoro voice was not fitted in 10 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--barge-ins", type=int, default=10)
    parser.add_argument("--silence-ms", type=int, default=400)
    parser.add_argument("--kokoro", choices=["fit", "stock"], default="fit")
    parser.add_argument("--transports", default="ws,webrtc")
    args = parser.parse_args()
    chat = ChatScript(replies=REPLIES)
    port = free_port()
    with ThreadServer(chat.app()) as llm, tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "VOXCLONE_DATA_DIR": data,
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_DEFAULT_BACKEND": "piper",
            "VOXCLONE_LOG_LEVEL": "warning",
            "VOXCLONE_WHISPER__PACKAGED_MODEL": "tiny.en",
            "VOXCLONE_AGENT__LLM_URL": f"{llm}/v1",
            "VOXCLONE_AGENT__MODEL": "scripted",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--port", str(port)], env=env, cwd=data
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            r = httpx.post(
                f"{base}/v1/keys",
                json={"label": "bench", "rate_limit_per_minute": 100000},
                headers={"X-API-Key": ADMIN},
            )
            r.raise_for_status()
            key = r.json()["api_key"]
            ws_url = base.replace("http", "ws", 1)
            transports = set(args.transports.split(","))
            rows = []
            if "ws" in transports:
                kokoro = fitted_voice(base, key, args.kokoro)
                for name, voice in (("piper", PIPER), (f"kokoro ({args.kokoro})", kokoro)):
                    stages = answer_latencies(ws_url, key, voice, args.turns, args.silence_ms)
                    rows.append((f"answer, {name}: first audio", stages["response.audio.delta"]))
                    rows.append(("  speech_stopped", stages[STAGES[0]]))
                    rows.append(("  transcript", stages[STAGES[1]]))
                    rows.append(("  response.created", stages[STAGES[2]]))
                stops = barge_ins(ws_url, key, PIPER, args.barge_ins)
                rows.append(("barge-in: onset -> response.done", [s[0] for s in stops]))
                rows.append(("barge-in: onset -> last audio delta", [s[1] for s in stops]))
            if "webrtc" in transports:
                answers = asyncio.run(webrtc_answers(base, key, PIPER, args.turns, args.silence_ms))
                rows.append(("WebRTC answer, piper: first sound", answers["sound"]))
                for stage in WEBRTC_STAGES:
                    rows.append((f"  {stage.split('.')[-1]}", answers[stage]))
                stops_rtc = asyncio.run(webrtc_barge_ins(base, key, PIPER, args.barge_ins))
                rows.append(("WebRTC barge-in: -> speech_started", [s[0] for s in stops_rtc]))
                rows.append(("WebRTC barge-in: -> last sound", [s[1] for s in stops_rtc]))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"\nrealtime, {os.cpu_count()} CPUs, silence_duration_ms={args.silence_ms}, "
        f"{args.turns} turns (answer) / {args.barge_ins} (barge-in), ms"
    )
    print(
        f"{'measure (ms after the end of speech)':<40} {'n':>3} {'p50':>7} {'p95':>7} {'mean':>7}"
    )
    for label, values in rows:
        print(
            f"{label:<40} {len(values):>3} {pct(values, 0.5):>7.0f} {pct(values, 0.95):>7.0f} "
            f"{statistics.fmean(values):>7.0f}"
        )


if __name__ == "__main__":
    main()
