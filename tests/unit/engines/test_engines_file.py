from pathlib import Path

import pytest
from tests.conftest import make_settings

from voxclone.engines.engines_file import EnginesFileError, engine_specs
from voxclone.engines.registry import EngineRegistry


def specs_from(tmp_path: Path, text: str, **settings: object) -> dict:
    path = tmp_path / "engines.toml"
    path.write_text(text, encoding="utf-8")
    return {s.name: s for s in engine_specs(make_settings(tmp_path, engines_file=path, **settings))}


def test_builtins_are_there_without_a_file(tmp_path: Path) -> None:
    names = {s.name for s in engine_specs(make_settings(tmp_path))}
    assert "piper" in names


def test_remote_and_python_entries(tmp_path: Path) -> None:
    specs = specs_from(
        tmp_path,
        """
        [[engines]]
        name = "qwen"
        type = "provider"
        urls = ["http://10.0.0.5:8000", { url = "http://10.0.0.6:8000", weight = 2 }]
        api_key = "k"
        timeout_s = 120
        eject_after = 5
        fallback = "piper"
        options = { model = "Qwen3-TTS", languages = ["en", "zh"] }

        [[engines]]
        name = "speaches"
        type = "openai"
        kind = "stt"
        urls = ["http://10.0.0.7:8000/v1"]

        [[engines]]
        name = "fake"
        type = "python"
        target = "voxclone.engines.fake:FakeEngine"
        options = { delay_s = 0.5 }
        """,
    )
    qwen = specs["qwen"]
    assert qwen.target == "voxclone.engines.remote.provider:ProviderEngine"
    assert qwen.remote and qwen.kind == "tts" and qwen.fallback == "piper"
    assert qwen.options["urls"] == [
        "http://10.0.0.5:8000",
        {"url": "http://10.0.0.6:8000", "weight": 2.0},
    ]
    assert qwen.options["api_key"] == "k" and qwen.options["model"] == "Qwen3-TTS"
    assert qwen.options["policy"]["timeout_s"] == 120  # this engine's own
    assert qwen.options["policy"]["eject_after"] == 5
    assert qwen.options["policy"]["retries"] == 2  # from RemoteSettings
    assert specs["speaches"].target.endswith("openai:OpenAITranscriber")
    fake = specs["fake"]
    assert not fake.remote and fake.options == {"delay_s": 0.5}
    registry = EngineRegistry(list(specs.values()))
    assert registry.get_tts("fake").delay_s == 0.5  # the file is how tests declare engines too


def test_an_entry_replaces_a_builtin(tmp_path: Path) -> None:
    specs = specs_from(
        tmp_path,
        '[[engines]]\nname = "piper"\ntype = "provider"\nurls = ["http://10.0.0.5:8000"]\n',
    )
    assert specs["piper"].remote


X = "[[engines]]\nname = 'x'\n"
PROVIDER = X + "type = 'provider'\nurls = ['http://h']\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (X + "type = 'grpc'\n", "type"),
        (X + "type = 'provider'\n", "needs urls"),
        (X + "type = 'python'\n", "needs target"),
        (X + "type = 'gpt-sovits'\nkind = 'stt'\nurls = ['http://h']\n", "no stt"),
        (PROVIDER + "colour = 1\n", "colour"),
        (PROVIDER + "fallback = 'nope'\n", "not an engine"),
        (PROVIDER + "options = { urls = [] }\n", "beside options"),
        ((X + "type = 'python'\ntarget = 'a:B'\n") * 2, "twice"),
        ("[[engines]]\nname = 'bad name!'\ntype = 'python'\ntarget = 'a:B'\n", "name"),
        ("[[engines]\n", "not TOML"),
    ],
)
def test_mistakes_are_reported_with_the_file(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(EnginesFileError, match=problem) as info:
        specs_from(tmp_path, text)
    assert "engines.toml" in str(info.value) or "settings" in str(info.value)


def test_fallbacks_must_match_kind_and_not_loop(tmp_path: Path) -> None:
    loop = """
    [[engines]]
    name = "a"
    type = "provider"
    urls = ["http://h1"]
    fallback = "b"

    [[engines]]
    name = "b"
    type = "provider"
    urls = ["http://h2"]
    fallback = "a"
    """
    with pytest.raises(EnginesFileError, match="a -> b -> a"):
        specs_from(tmp_path, loop)
    mixed = """
    [[engines]]
    name = "stt"
    type = "openai"
    kind = "stt"
    fallback = "piper"
    """
    with pytest.raises(EnginesFileError, match="its fallback 'piper' is tts"):
        specs_from(tmp_path, mixed)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, engines_file=tmp_path / "nope.toml")
    with pytest.raises(EnginesFileError, match="cannot read"):
        engine_specs(settings)
