"""The transformations a watermark must survive (docs/watermark.md), for its tests and
benchmarks/watermark.py: MP3 and Opus at 64 kbit/s (PyAV's libmp3lame and libopus, the FFmpeg
encoders), resampling to 16 kHz, ±3 dB of gain and a 10 % trim."""

from __future__ import annotations

import io
from collections.abc import Callable

import av
import numpy as np

from voxclone.audio import decode_audio, resample
from voxclone.core.types import Audio


def _codec(audio: Audio, *, codec: str, container: str, rate: int, bitrate: int) -> Audio:
    src = resample(audio, rate)
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(src.samples[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return decode_audio(buf.getvalue()).audio


def mp3_64k(audio: Audio) -> Audio:
    return _codec(audio, codec="libmp3lame", container="mp3", rate=24_000, bitrate=64_000)


def opus_64k(audio: Audio) -> Audio:
    return _codec(audio, codec="libopus", container="ogg", rate=48_000, bitrate=64_000)


def to_16k(audio: Audio) -> Audio:
    return resample(audio, 16_000)


def gain(db: float) -> Callable[[Audio], Audio]:
    def apply(audio: Audio) -> Audio:
        scaled = np.clip(audio.samples * 10 ** (db / 20), -1, 1).astype(np.float32)
        return Audio(scaled, audio.sample_rate)

    return apply


def trim(start: float, end: float) -> Callable[[Audio], Audio]:
    """Cut ``start`` and ``end`` (fractions of the length) off."""

    def apply(audio: Audio) -> Audio:
        n = len(audio.samples)
        return Audio(audio.samples[int(n * start) : n - int(n * end)].copy(), audio.sample_rate)

    return apply


ATTACKS: dict[str, Callable[[Audio], Audio]] = {
    "none": lambda a: a,
    "mp3_64k": mp3_64k,
    "opus_64k": opus_64k,
    "resample_16k": to_16k,
    "gain_+3dB": gain(3.0),
    "gain_-3dB": gain(-3.0),
    "trim_10%_start": trim(0.10, 0.0),
    "trim_5%_both": trim(0.05, 0.05),
    "trim_10%_end": trim(0.0, 0.10),
}
