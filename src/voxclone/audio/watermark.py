"""An inaudible, robust audio watermark: spread spectrum on the STFT magnitude of 1–4 kHz.

A classical scheme in numpy (docs/watermark.md says why no neural one): the audio is brought to
16 kHz, cut into frames of 512 samples (hop 256, square-root Hann, so the inverse is exact), and
the bins between 1 and 4 kHz are grouped into ``BANDS`` bands of 6 bins and time chips of
``CHIP_FRAMES`` frames (48 ms). Each chip's magnitude is scaled by a gain near 1, so the mark's
level follows the local spectrum (loud where speech is loud, nothing in silence); the added
signal, band-limited, is resampled back to the audio's rate and added.

The chips repeat with a period of ``PERIOD`` time chips (1.536 s). In each time chip, 4 bands
(chosen at random per chip, fixed by a seed) carry a known sync pattern; the other 12 carry the
64 coded bits (48 payload bits and a CRC-16), each bit spread over 6 chips per period with a
pseudo-random sign. The embedder is informed: it measures the speech's own projection on each
bit (and on the sync) per period and cancels it, so the speech does not fight the mark.

Detection brings any audio to 16 kHz, takes the log power of the chips, whitens it (each time
chip's mean removed, each band's slow trend removed) and tries every alignment (12 sample
offsets × 32 chip shifts). The best sync correlations name candidate alignments; at each, the
data chips of every period are added up into soft bits, and Chase decoding (the least reliable
bits flipped) against the CRC decides. A trim moves the alignment (found again), a gain is
removed by the whitening, and resampling to 16 kHz and codecs at 64 kbit/s keep 1–4 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxclone.audio.resample import resample
from voxclone.core.types import Audio

RATE = 16_000
N_FFT = 512
HOP = 256
LOW_BIN = 32  # 1 kHz at 31.25 Hz a bin
BAND_BINS = 6
BANDS = 16  # bins 32..128: 1 to 4 kHz
CHIP_FRAMES = 3
CHIP_LEN = CHIP_FRAMES * HOP  # 768 samples, 48 ms
MIN_CHIPS = 8
"""Audio shorter than this many time chips (0.4 s) is neither marked nor read."""
TREND_CHIPS = 5
PERIOD = 32
SYNC_PER_CHIP = 4
PAYLOAD_BITS = 48
CODED_BITS = PAYLOAD_BITS + 16
OFFSET_STEP = 64  # samples at 16 kHz tried for the alignment within a chip
SEED = 0x5C0FFEE
ROUNDS = 3
CHASE_BITS = 6
CANDIDATES = 6
"""Alignments tried for the bits, best sync first (a neighbour of the true one can win)."""
MIN_SYNC_Z = 4.5
"""Least sync z-score for a detection: with 384 alignments tried on unmarked speech the best
one is near 3.3; the CRC must pass too."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the sync and data chips are in one period, and their signs."""

    sync: npt.NDArray[np.bool_]  # (PERIOD, BANDS)
    pattern: npt.NDArray[np.float64]  # (PERIOD, BANDS) sync sign, or data chip's PN sign
    bit_of: npt.NDArray[np.int64]  # (PERIOD, BANDS) which coded bit a data chip carries; -1 sync


def _layout() -> Layout:
    rng = np.random.default_rng(SEED)
    sync = np.zeros((PERIOD, BANDS), dtype=bool)
    for j in range(PERIOD):
        sync[j, rng.choice(BANDS, SYNC_PER_CHIP, replace=False)] = True
    pattern = rng.choice([-1.0, 1.0], size=(PERIOD, BANDS))
    data_cells = np.flatnonzero(~sync.ravel())
    bits = np.arange(data_cells.size) % CODED_BITS
    rng.shuffle(bits)
    bit_of = np.full(PERIOD * BANDS, -1, dtype=np.int64)
    bit_of[data_cells] = bits
    return Layout(sync=sync, pattern=pattern, bit_of=bit_of.reshape(PERIOD, BANDS))


LAYOUT = _layout()
_WINDOW = np.sqrt(np.hanning(N_FFT + 1)[:N_FFT]).astype(np.float64)


def crc16(bits: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """CRC-16-CCITT (0x1021, initial 0xFFFF) of a bit array, as 16 bits."""
    reg = 0xFFFF
    for bit in bits.tolist():
        top = ((reg >> 15) & 1) ^ int(bit)
        reg = (reg << 1) & 0xFFFF
        if top:
            reg ^= 0x1021
    return np.array([(reg >> (15 - i)) & 1 for i in range(16)], dtype=np.int64)


def encode_payload(payload: int) -> npt.NDArray[np.int64]:
    """The 64 coded bits of a 48-bit payload."""
    if not 0 <= payload < 1 << PAYLOAD_BITS:
        raise ValueError(f"payload must fit in {PAYLOAD_BITS} bits, got {payload}")
    bits = np.array(
        [(payload >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], dtype=np.int64
    )
    return np.concatenate([bits, crc16(bits)])


def _frames(x: npt.NDArray[np.float64]) -> npt.NDArray[np.complex128]:
    """STFT of ``x`` (frames × bins), frame i starting at sample i × HOP."""
    count = max(1, 1 + (len(x) - N_FFT + HOP - 1) // HOP)
    padded = np.zeros((count - 1) * HOP + N_FFT)
    padded[: len(x)] = x
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(count)[:, None]
    return np.fft.rfft(padded[idx] * _WINDOW, axis=1)


def _overlap_add(spec: npt.NDArray[np.complex128], length: int) -> npt.NDArray[np.float64]:
    frames = np.fft.irfft(spec, n=N_FFT, axis=1) * _WINDOW
    out = np.zeros((len(frames) - 1) * HOP + N_FFT)
    for i, frame in enumerate(frames):
        out[i * HOP : i * HOP + N_FFT] += frame
    return out[:length]


def embed(audio: Audio, payload: int, *, strength: float = 0.2, start: int = 0) -> Audio:
    """``audio`` carrying ``payload`` (48 bits); ``start``: where ``audio`` begins in a longer
    signal marked piece by piece (a stream's chunks), in samples at 16 kHz, so that the
    pieces share one grid of chips.

    Informed embedding (improved spread spectrum): per period, the host's own projection on
    each bit's chips is measured with the detector's features and cancelled, so the speech
    does not fight the mark; the change of each chip is bounded to keep it inaudible. The
    resynthesis smears each change a little: ``ROUNDS`` passes correct what is left.
    """
    coded = encode_payload(payload).astype(np.float64) * 2.0 - 1.0
    x16 = resample(audio, RATE).samples.astype(np.float64)
    if len(x16) < N_FFT + CHIP_LEN * MIN_CHIPS:
        return audio
    lead = start % CHIP_LEN
    host = np.concatenate([np.zeros(lead), x16])
    target = 2.0 * np.log1p(strength)
    marked = host
    band = slice(LOW_BIN, LOW_BIN + BANDS * BAND_BINS)
    for _ in range(ROUNDS):
        spec = _frames(marked)
        gain = _correction(spec, coded, target, first_chip=start // CHIP_LEN)
        frame_gain = np.zeros((len(spec), BANDS))
        frame_gain[: len(gain) * CHIP_FRAMES] = np.repeat(gain, CHIP_FRAMES, axis=0)
        mark = np.zeros_like(spec)
        mark[:, band] = spec[:, band] * np.repeat(frame_gain, BAND_BINS, axis=1)
        marked = marked + _overlap_add(mark, len(host))
    added = (marked - host)[lead:].astype(np.float32)
    back = resample(Audio(added, RATE), audio.sample_rate).samples
    out = audio.samples.copy()
    n = min(len(out), len(back))
    out[:n] += back[:n]
    return Audio(np.clip(out, -1.0, 1.0).astype(np.float32), audio.sample_rate)


def _correction(
    spec: npt.NDArray[np.complex128],
    coded: npt.NDArray[np.float64],
    target: float,
    *,
    first_chip: int,
) -> npt.NDArray[np.float64]:
    """Per chip, the magnitude gain (minus one) that brings each bit's (and the sync's)
    projection in each period to ``target``, whatever the host's own projection was."""
    host, live = _features(spec)
    chip = first_chip + np.arange(len(host))
    j = chip % PERIOD
    period = chip // PERIOD - first_chip // PERIOD
    symbol = np.where(LAYOUT.sync, CODED_BITS, LAYOUT.bit_of)[j]  # (rows, BANDS)
    value = np.append(coded, 1.0)[symbol]
    pn = LAYOUT.pattern[j]
    groups = (period[:, None] * (CODED_BITS + 1) + symbol).ravel()
    weight = np.broadcast_to(live[:, None], host.shape).astype(np.float64)
    sums = np.bincount(groups, weights=(host * pn * weight).ravel())
    counts = np.maximum(np.bincount(groups, weights=weight.ravel()), 1.0)
    projection = (sums / counts)[groups].reshape(host.shape)
    delta = np.clip(pn * (target * value - projection), -2.0 * target, 2.0 * target)
    return np.exp(delta * weight / 2.0) - 1.0  # on the magnitude; the features are log power


@dataclass(frozen=True, slots=True)
class Detection:
    detected: bool
    payload: int | None
    """The 48 payload bits when the CRC passed."""
    sync_z: float
    """The best alignment's sync correlation, in standard deviations."""
    bit_margin: float
    """Mean |soft bit| over its spread: how clearly the bits were read (0 when not)."""

    @property
    def confidence(self) -> float:
        """A heuristic in [0, 1]: 0 at the threshold or below, 1 well above it."""
        if not self.detected:
            return 0.0
        return float(np.clip((self.sync_z - MIN_SYNC_Z + 2.0) / 6.0, 0.0, 1.0))


def _features(
    spec: npt.NDArray[np.complex128],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Whitened log power of the chips (time chips × BANDS) of an STFT, and which time chips
    are live (not near-silence; the others are zero)."""
    whole = len(spec) // CHIP_FRAMES
    band = slice(LOW_BIN, LOW_BIN + BANDS * BAND_BINS)
    power = np.abs(spec[: whole * CHIP_FRAMES, band]) ** 2
    cells = power.reshape(whole, CHIP_FRAMES, BANDS, BAND_BINS).sum(axis=(1, 3))
    energy = cells.sum(axis=1)
    live = energy > (np.median(energy) * 1e-3 + 1e-12)
    logs = np.log(cells + 1e-12)
    logs -= logs.mean(axis=1, keepdims=True)
    if whole >= TREND_CHIPS:
        kernel = np.ones(TREND_CHIPS) / TREND_CHIPS
        for b in range(BANDS):
            logs[:, b] -= np.convolve(logs[:, b], kernel, mode="same")
    else:
        logs -= logs.mean(axis=0, keepdims=True)
    logs[~live] = 0.0
    return logs, live


def _chips(x16: npt.NDArray[np.float64], offset: int) -> tuple[npt.NDArray[np.float64], int]:
    """The features of ``x16`` from sample ``offset``, scaled to unit spread; and how many
    time chips are live."""
    logs, live = _features(_frames(x16[offset:]))
    spread = logs[live].std() if live.any() else 0.0
    if spread > 0:
        logs = logs / spread
    return logs, int(live.sum())


def detect(audio: Audio) -> Detection:
    """Look for the watermark anywhere in ``audio`` (any rate, trimmed, re-encoded)."""
    x16 = resample(audio, RATE).samples.astype(np.float64)
    none = Detection(detected=False, payload=None, sync_z=0.0, bit_margin=0.0)
    if len(x16) < N_FFT + CHIP_LEN * MIN_CHIPS:
        return none
    sync_signs = np.where(LAYOUT.sync, LAYOUT.pattern, 0.0)
    tried: list[tuple[float, int, int]] = []  # (sync z, offset, shift)
    features: dict[int, npt.NDArray[np.float64]] = {}
    for offset in range(0, CHIP_LEN, OFFSET_STEP):
        logs, live = _chips(x16, offset)
        if live < 8:
            continue
        features[offset] = logs
        rows = len(logs)
        for shift in range(PERIOD):
            ref = sync_signs[(np.arange(rows) + shift) % PERIOD]
            n = int(((ref != 0) & (logs != 0)).sum())
            if n >= 16:
                tried.append((float((logs * ref).sum() / np.sqrt(n)), offset, shift))
    if not tried:
        return none
    tried.sort(reverse=True)
    best_z = tried[0][0]
    margin = 0.0
    for z, offset, shift in tried[:CANDIDATES]:
        if z < MIN_SYNC_Z:
            break
        soft, spread = _soft_bits(features[offset], shift)
        margin = max(margin, spread)
        bits = _chase(soft)
        if bits is not None:
            payload = int("".join(str(b) for b in bits[:PAYLOAD_BITS].tolist()), 2)
            return Detection(detected=True, payload=payload, sync_z=z, bit_margin=spread)
    return Detection(detected=False, payload=None, sync_z=best_z, bit_margin=margin)


def _soft_bits(logs: npt.NDArray[np.float64], shift: int) -> tuple[npt.NDArray[np.float64], float]:
    """The coded bits' soft values at one alignment, and their mean margin."""
    idx = (np.arange(len(logs)) + shift) % PERIOD
    bit_of = LAYOUT.bit_of[idx]
    contrib = logs * LAYOUT.pattern[idx]
    data = bit_of >= 0
    soft = np.bincount(bit_of[data], weights=contrib[data], minlength=CODED_BITS).astype(float)
    counts = np.bincount(bit_of[data], weights=(logs[data] != 0), minlength=CODED_BITS)
    return soft, float(np.mean(np.abs(soft) / np.sqrt(np.maximum(counts, 1))))


def _chase(soft: npt.NDArray[np.float64]) -> npt.NDArray[np.int64] | None:
    """The coded bits whose CRC passes among the hard decision and its variants with any of
    the ``CHASE_BITS`` least reliable bits flipped (Chase decoding); None if none does."""
    hard = (soft > 0).astype(np.int64)
    weakest = np.argsort(np.abs(soft))[:CHASE_BITS]
    for flips in range(1 << CHASE_BITS):
        bits = hard.copy()
        for i, pos in enumerate(weakest.tolist()):
            if flips >> i & 1:
                bits[pos] ^= 1
        if np.array_equal(crc16(bits[:PAYLOAD_BITS]), bits[PAYLOAD_BITS:]):
            return bits
    return None
