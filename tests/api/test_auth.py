from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from voxclone.db.tables import ApiKey
from voxclone.services.container import Services


async def test_no_key_is_401_in_the_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/voices")
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "unauthorized"
    assert "Authorization" in body["message"]
    assert body["details"] == {}


async def test_wrong_key_is_401(client: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": "Bearer vx_not-a-real-key"},
        {"X-API-Key": "vx_not-a-real-key"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        r = await client.get("/v1/voices", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"] == "unauthorized"


async def test_bearer_and_x_api_key_both_work(client: httpx.AsyncClient, admin_headers) -> None:
    r = await client.post("/v1/keys", json={"label": "k"}, headers=admin_headers)
    key = r.json()["api_key"]
    assert key.startswith("vx_")
    assert (
        await client.get("/v1/voices", headers={"Authorization": f"Bearer {key}"})
    ).status_code == 200
    assert (await client.get("/v1/voices", headers={"X-API-Key": key})).status_code == 200
    assert (await client.get("/v1/voices", headers={"xi-api-key": key})).status_code == 200
    r = await client.get("/v1/voices", headers={"xi-api-key": "vx_not-a-real-key"})
    assert r.status_code == 401


async def test_revoked_key_is_401(client: httpx.AsyncClient, admin_headers) -> None:
    r = await client.post("/v1/keys", json={"label": "temp"}, headers=admin_headers)
    key, key_id = r.json()["api_key"], r.json()["key_id"]
    assert (await client.get("/v1/voices", headers={"X-API-Key": key})).status_code == 200
    assert (await client.delete(f"/v1/keys/{key_id}", headers=admin_headers)).status_code == 204
    r = await client.get("/v1/voices", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert "revoked" in r.json()["message"]
    listed = (await client.get("/v1/keys", headers=admin_headers)).json()
    assert [k["revoked_at"] is not None for k in listed if k["key_id"] == key_id] == [True]


async def test_keys_are_admin_only(client: httpx.AsyncClient, user) -> None:
    assert (await client.post("/v1/keys", json={}, headers=user)).status_code == 403
    assert (await client.get("/v1/keys", headers=user)).status_code == 403
    assert (await client.get("/v1/keys")).status_code == 401


async def test_admin_key_cannot_act_as_a_user(client: httpx.AsyncClient, admin_headers) -> None:
    r = await client.get("/v1/voices", headers=admin_headers)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"


async def test_unknown_or_malformed_key_id_on_delete(
    client: httpx.AsyncClient, admin_headers
) -> None:
    r = await client.delete("/v1/keys/00000000-0000-4000-8000-000000000000", headers=admin_headers)
    assert r.status_code == 404
    r = await client.delete("/v1/keys/not-an-id", headers=admin_headers)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_id"


async def test_keys_are_stored_only_as_sha256(
    client: httpx.AsyncClient, admin_headers, services: Services
) -> None:
    r = await client.post("/v1/keys", json={"label": "hashed"}, headers=admin_headers)
    key = r.json()["api_key"]
    async with services.sessions() as session:
        rows = (await session.execute(select(ApiKey))).scalars().all()
    assert [row.key_hash for row in rows] == [hashlib.sha256(key.encode()).hexdigest()]
    assert all(key not in str(vars(row)) for row in rows)
    listed = (await client.get("/v1/keys", headers=admin_headers)).json()
    assert "api_key" not in listed[0]


async def test_generated_admin_key_is_written_0600(tmp_path) -> None:
    from voxclone.services.keys import ensure_admin_key

    key, generated = ensure_admin_key(tmp_path, None)
    assert generated and key.startswith("vxadmin_")
    path = tmp_path / "admin_key"
    assert path.stat().st_mode & 0o777 == 0o600
    again, generated_again = ensure_admin_key(tmp_path, None)
    assert (again, generated_again) == (key, False)


async def test_a_key_revoked_on_another_host_stops_within_the_cache_time(services) -> None:
    import asyncio

    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    from voxclone.core.errors import AuthenticationError
    from voxclone.db.tables import ApiKey, utcnow
    from voxclone.services.keys import KeyService

    await services.start(run_jobs=False)
    try:
        keys = KeyService(sessions=services.sessions, admin_key="vxadmin_x", cache_s=0.3)
        issued = await keys.create(label="elsewhere")
        assert (await keys.authenticate(issued.secret)).key_id == issued.record.id
        # Another API host revokes it: its own engine, no ORM session of this process (whose
        # changes this process sees at once, services/state_cache.py).
        other_host = create_async_engine(services.settings.resolved_database_url)
        try:
            async with other_host.begin() as connection:
                await connection.execute(
                    update(ApiKey.__table__)
                    .where(ApiKey.__table__.c.id == issued.record.id)
                    .values(revoked_at=utcnow())
                )
        finally:
            await other_host.dispose()
        assert (await keys.authenticate(issued.secret)).key_id == issued.record.id  # cached
        await asyncio.sleep(0.35)
        try:
            await keys.authenticate(issued.secret)
        except AuthenticationError as exc:
            assert "revoked" in exc.message
        else:
            raise AssertionError("a revoked key still authenticated after the cache time")
    finally:
        await services.close()
