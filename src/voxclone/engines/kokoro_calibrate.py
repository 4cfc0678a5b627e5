"""Measure the output ranges of Kokoro's vocoder convolutions for the int8 rewrite.

    .venv/bin/python -m voxclone.engines.kokoro_calibrate [DATA_DIR]

Runs the int8 model (joined into ``DATA_DIR/models`` as the engine does) on a fixed set of
sentences in several languages, spoken by stock voices and by blends beyond them (as fitted
voices are), and writes ``kokoro_conv_ranges.npz`` next to this file. Only needed when the
model or the rewrite changes; bump ``kokoro_assets.INT8_CONV_REWRITE`` then.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.engines.kokoro_assets import (
    CONV_RANGES,
    calibrate_conv_ranges,
    default_shared_models_dir,
    file_sha256,
    load_g2p,
    load_tokenizer,
    load_voices,
    resolve_model,
    resolve_voices,
    save_conv_ranges,
)

SENTENCES = [
    ("en-us", "The quick brown fox jumps over the lazy dog near the quiet river bank."),
    ("en-us", "Hello!"),
    ("en-us", "Why would anyone do that, honestly?"),
    ("en-us", "This week we finished the new storage layer and moved every service onto it."),
    ("en-us", "Thank you all, and have a good week!"),
    ("en-us", "Dr. Smith paid four hundred and twelve dollars on March 3rd, 2021."),
    ("en-gb", "Shall we have a cup of tea before the meeting starts?"),
    ("es", "Hola, ¿cómo estás hoy? Hace un día precioso."),
    ("fr-fr", "Bonjour, comment allez-vous ce matin ?"),
    ("it", "Ciao, come stai oggi? Andiamo al mare."),
    ("pt-br", "Olá, como você está hoje?"),
    ("hi", "नमस्ते, आप कैसे हैं?"),
]
BLENDS: list[dict[str, float]] = [
    {"af_heart": 1.0},
    {"am_michael": 1.0},
    {"bf_emma": 0.6, "bm_george": 0.4},
    {"af_bella": 1.3, "af_sky": -0.3},
    {"am_adam": 1.2, "am_echo": -0.2},
    {"ef_dora": 1.0},
    {"ff_siwis": 0.5, "af_nicole": 0.5},
    {"hm_omega": 1.0},
]
PERCENTILE = 90.0
"""Which percentile over the inputs each end of a range is (see ``calibrate_conv_ranges``)."""


def calibration_feeds(
    voices: dict[str, npt.NDArray[np.float32]],
) -> list[dict[str, npt.NDArray[Any]]]:
    """Model inputs: every sentence with two blends, at speeds 0.8, 1 and 1.25."""
    tokenizer = load_tokenizer()
    vocab: dict[str, int] = dict(tokenizer.vocab)
    feeds = []
    for i, (lang, text) in enumerate(SENTENCES):
        phonemes = load_g2p(lang, tokenizer)(text)
        tokens = [vocab[p] for p in phonemes if p in vocab]
        for j, blend in enumerate([BLENDS[i % len(BLENDS)], BLENDS[(i + 3) % len(BLENDS)]]):
            style = sum(np.float32(w) * voices[name] for name, w in blend.items())
            feeds.append(
                {
                    "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                    "style": np.asarray(style)[len(tokens) - 1].reshape(1, 256),
                    "speed": np.array([(0.8, 1.0, 1.25)[(i + j) % 3]], dtype=np.float32),
                }
            )
    return feeds


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("./data")
    model = resolve_model(None, data_dir)
    voices = load_voices(resolve_voices(None, data_dir, default_shared_models_dir()))
    ranges = calibrate_conv_ranges(model, calibration_feeds(voices), percentile=PERCENTILE)
    save_conv_ranges(CONV_RANGES, ranges, model_sha256=file_sha256(model))
    print(f"{len(ranges)} convolution ranges written to {CONV_RANGES}")


if __name__ == "__main__":
    main()
