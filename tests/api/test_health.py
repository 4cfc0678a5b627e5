from __future__ import annotations

from tests.conftest import fake_registry
from voxclone.engines.registry import EngineSpec


async def test_health_on_both_paths(client) -> None:
    for path in ("/health", "/v1/health"):
        r = await client.get(path)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "healthy"
        assert body["version"]
        assert body["uptime_seconds"] >= 0
        assert "fake" in body["backends"]
        fake = next(e for e in body["engines"] if e["name"] == "fake")
        assert fake["available"] and fake["loaded"]


async def test_health_degraded_and_unhealthy(tmp_path) -> None:
    import httpx

    from tests.conftest import make_settings
    from voxclone.api.app import create_app
    from voxclone.services.container import build_services

    broken = EngineSpec("broken", "voxclone.engines.no_such_module:Engine")

    async def status_with(registry, default: str) -> str:
        svc = build_services(
            make_settings(tmp_path / default, default_backend=default), engines=registry
        )
        app = create_app(services=svc)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            await c.get("/health")  # loads the default
            svc.engines.health("broken")  # the broken one was tried
            return str((await c.get("/health")).json()["status"])

    registry = fake_registry()
    registry.register(broken)
    assert await status_with(registry, "fake") == "degraded"
    from voxclone.engines.registry import EngineRegistry

    assert await status_with(EngineRegistry([broken]), "broken") == "unhealthy"


async def test_unknown_route_is_json_404(client) -> None:
    r = await client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
