import asyncio

from tests.conftest import fake_registry

from voxclone.config.engines import EngineCacheSettings
from voxclone.services.engine_unloader import EngineUnloader


async def test_zero_never_unloads() -> None:
    engines = fake_registry()
    unloader = EngineUnloader(engines=engines, settings=EngineCacheSettings(idle_unload_s=0))
    assert not unloader.enabled
    engines.get("fake")
    assert await unloader.unload_idle() == []
    assert engines.is_loaded("fake")
    unloader.start()  # a no-op when disabled
    await unloader.stop()


async def test_unloads_engines_idle_past_the_setting() -> None:
    engines = fake_registry()
    settings = EngineCacheSettings(idle_unload_s=0.01, check_s=3600)
    unloader = EngineUnloader(engines=engines, settings=settings)
    engines.get("fake")
    await asyncio.sleep(0.02)
    assert await unloader.unload_idle() == ["fake"]
    assert not engines.is_loaded("fake")
    assert await unloader.unload_idle() == []
