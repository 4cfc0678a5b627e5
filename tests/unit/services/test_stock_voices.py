"""The stock voice catalog, built from the engine registry without loading any engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voxclone.core.errors import InvalidVoiceMix, NotFound
from voxclone.engines.registry import EngineRegistry, EngineSpec
from voxclone.services.stock_voices import OPENAI_VOICES, StockVoices

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("VOXCLONE_SHARED_DIR", REPO.parent / "shared"))
KOKORO_DIR = SHARED / "models" / "kokoro"
KOKORO = "voxclone.engines.kokoro:KokoroEngine"
PIPER = "voxclone.engines.piper:PiperEngine"


@pytest.fixture
def registry(tmp_path: Path) -> EngineRegistry:
    if not (KOKORO_DIR / "voices-v1.0.npz").is_file():
        pytest.skip(f"no Kokoro voices at {KOKORO_DIR}")
    kokoro = {"data_dir": tmp_path, "shared_models_dir": KOKORO_DIR}
    return EngineRegistry(
        [
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
            EngineSpec("piper", PIPER),
            EngineSpec("local", KOKORO, options=kokoro),
            EngineSpec("kokoro2", KOKORO, options=kokoro),
            EngineSpec("broken", KOKORO, options={**kokoro, "voices_path": tmp_path / "none"}),
            EngineSpec("whisper", "voxclone.engines.whisper:WhisperEngine", kind="stt"),
        ]
    )


def test_the_default_backend_owns_the_bare_names(registry: EngineRegistry) -> None:
    stock = StockVoices(registry, default_backend="kokoro2")
    voices = stock.list()
    assert [v.id for v in voices[:2]] == ["af_alloy", "af_aoede"]
    assert {v.backend for v in voices if ":" not in v.id} == {"kokoro2", "piper"}
    assert len([v for v in voices if v.id.startswith("local:")]) == 55
    assert stock.get("af_heart").backend == "kokoro2"
    assert stock.get("local:af_heart").backend == "local"
    assert stock.get("LOCAL:AF_HEART").id == "local:af_heart"
    assert not any(registry.is_loaded(name) for name in registry.names())  # nothing loaded


def test_openai_names_are_aliases_of_kokoro_voices(registry: EngineRegistry) -> None:
    stock = StockVoices(registry, default_backend="local")
    for alias, target in OPENAI_VOICES.items():
        voice = stock.get(alias)
        assert voice.id == target and alias in voice.aliases, alias
    assert stock.get("Alloy").id == "af_alloy"


def test_kokoro_voices_say_their_language_and_gender(registry: EngineRegistry) -> None:
    stock = StockVoices(registry, default_backend="local")
    george = stock.get("bm_george")
    assert (george.lang, george.gender, george.accent) == ("en-gb", "male", "british")
    assert stock.get("jf_alpha").lang == "ja" and stock.get("pf_dora").lang == "pt-br"
    joe = stock.get("en_US-joe-medium")
    assert (joe.backend, joe.kind, joe.lang, joe.blend) == ("piper", "piper", "en", {})


def test_prompts_are_recipes_on_their_own_engine_only(registry: EngineRegistry) -> None:
    stock = StockVoices(registry, default_backend="local")

    class Engine:
        def __init__(self, name: str) -> None:
            self.name = name

    mix = stock.get("af_bella(3)+af_sky(1)")
    assert mix.prompt_for(Engine("local")) == {  # type: ignore[arg-type]
        "kind": "kokoro",
        "version": 1,
        "blend": {"af_bella": 0.75, "af_sky": 0.25},
    }
    assert mix.prompt_for(Engine("piper")) == {}  # type: ignore[arg-type]
    joe = stock.get("en_US-joe-medium")
    assert joe.prompt_for(Engine("piper")) == {"engine": "piper", "voice": "en_US-joe-medium"}  # type: ignore[arg-type]


def test_mixes_resolve_through_names_and_aliases(registry: EngineRegistry) -> None:
    stock = StockVoices(registry, default_backend="local")
    assert stock.get("alloy+nova").id == "af_alloy(0.5)+af_nova(0.5)"
    assert stock.get("af_heart(2)").id == "af_heart"  # one voice is that voice
    assert stock.get("local:af_bella+local:af_sky").id == "af_bella(0.5)+af_sky(0.5)"
    assert stock.get("kokoro2:af_bella+kokoro2:af_sky").id == "kokoro2:af_bella(0.5)+af_sky(0.5)"
    with pytest.raises(InvalidVoiceMix, match="different engines"):
        stock.get("af_bella+kokoro2:af_sky")
    with pytest.raises(NotFound) as missing:
        stock.get("af_bella+af_nobody")
    assert missing.value.details["component"] == "af_nobody"
    assert stock.find("nobody") is None
    assert stock.is_stock("af_bella(x)") and not stock.is_stock("nobody")
