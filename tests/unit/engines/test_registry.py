import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from voxclone.core.errors import EngineUnavailable, UnknownBackend
from voxclone.engines.fake import FakeEngine
from voxclone.engines.registry import EngineRegistry, EngineSpec

PROBE_SOURCE = textwrap.dedent(
    """
    from voxclone.core.errors import EngineUnavailable

    CONSTRUCTED = []


    class Probe:
        def __init__(self, name, **options):
            CONSTRUCTED.append(name)
            self.name = name
            self.options = options


    class Broken:
        def __init__(self, name, **options):
            CONSTRUCTED.append(name)
            raise EngineUnavailable("put the model files in /nowhere", backend=name)
    """
)


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a fresh, not yet imported module that defines ``Probe`` and ``Broken``."""
    name = f"voxclone_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(PROBE_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def loaded_module(name: str) -> ModuleType:
    return sys.modules[name]


def test_nothing_is_imported_until_get(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("probe", f"{probe_module}:Probe", options={"x": 1})])
    assert registry.names() == ["probe"]
    assert registry.spec("probe").target == f"{probe_module}:Probe"
    assert not registry.is_loaded("probe")
    assert probe_module not in sys.modules

    engine = registry.get("probe")

    assert probe_module in sys.modules
    assert registry.is_loaded("probe")
    assert engine.name == "probe"
    assert engine.options == {"x": 1}


def test_engine_is_built_once(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("probe", f"{probe_module}:Probe")])
    assert registry.get("probe") is registry.get("probe")
    assert loaded_module(probe_module).CONSTRUCTED == ["probe"]


def test_unknown_name_lists_the_known_names() -> None:
    registry = EngineRegistry(
        [
            EngineSpec("piper", "voxclone.engines.piper:PiperEngine"),
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
        ]
    )
    with pytest.raises(UnknownBackend, match="known backends: fake, piper") as info:
        registry.get("nope")
    assert info.value.details == {"backend": "nope", "known": ["fake", "piper"]}


def test_unknown_name_in_an_empty_registry() -> None:
    with pytest.raises(UnknownBackend, match="known backends: none"):
        EngineRegistry().get("local")


def test_missing_module_makes_the_engine_unavailable() -> None:
    registry = EngineRegistry([EngineSpec("ghost", "voxclone_no_such_module:Engine")])
    with pytest.raises(EngineUnavailable, match="cannot be imported") as info:
        registry.get("ghost")
    assert info.value.details == {"backend": "ghost"}

    health = registry.health("ghost")
    assert health.available is False
    assert "voxclone_no_such_module" in health.detail


def test_missing_class_makes_the_engine_unavailable(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("probe", f"{probe_module}:NoSuchClass")])
    health = registry.health("probe")
    assert health.available is False
    assert "NoSuchClass" in health.detail


def test_engine_that_cannot_load_is_unavailable_and_not_retried(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("broken", f"{probe_module}:Broken")])
    with pytest.raises(EngineUnavailable, match="/nowhere"):
        registry.get("broken")
    health = registry.health("broken")
    assert health.available is False
    assert health.detail == "put the model files in /nowhere"
    assert loaded_module(probe_module).CONSTRUCTED == ["broken"]


def test_registering_again_forgets_a_failure(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("e", f"{probe_module}:Broken")])
    assert registry.health("e").available is False
    registry.register(EngineSpec("e", f"{probe_module}:Probe"))
    assert registry.health("e").available is True


def test_piper_with_a_missing_model_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "voice.onnx"
    registry = EngineRegistry(
        [
            EngineSpec(
                "piper",
                "voxclone.engines.piper:PiperEngine",
                options={"model_path": str(missing)},
            )
        ]
    )
    health = registry.health("piper")
    assert health.available is False
    assert str(missing) in health.detail
    assert "does not exist" in health.detail


def test_get_tts_refuses_other_kinds(probe_module: str) -> None:
    registry = EngineRegistry(
        [
            EngineSpec("stt", f"{probe_module}:Probe", kind="stt"),
            EngineSpec("fake", "voxclone.engines.fake:FakeEngine"),
        ]
    )
    with pytest.raises(UnknownBackend, match="not a text-to-speech engine") as info:
        registry.get_tts("stt")
    assert info.value.details["known"] == ["fake"]
    assert registry.names("stt") == ["stt"]
    assert isinstance(registry.get_tts("fake"), FakeEngine)


def test_options_reach_the_engine() -> None:
    spec = EngineSpec("slow", "voxclone.engines.fake:FakeEngine", options={"sample_rate": 8000})
    engine = EngineRegistry([spec]).get_tts("slow")
    assert engine.capabilities().sample_rate == 8000
    assert engine.name == "slow"


def test_close_closes_loaded_engines_and_forgets_them() -> None:
    registry = EngineRegistry([EngineSpec("fake", "voxclone.engines.fake:FakeEngine")])
    first = registry.get("fake")
    assert isinstance(first, FakeEngine)

    registry.close()

    assert first.closed
    assert not registry.is_loaded("fake")
    second = registry.get("fake")
    assert second is not first
    assert not second.closed


def test_close_skips_engines_without_close(probe_module: str) -> None:
    registry = EngineRegistry([EngineSpec("probe", f"{probe_module}:Probe")])
    registry.get("probe")
    registry.close()
    assert not registry.is_loaded("probe")
