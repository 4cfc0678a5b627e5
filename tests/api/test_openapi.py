"""/openapi.json is complete enough for generated clients and fuzzers: security schemes, the
multipart bodies read by hand, every error answer in voxclone's error shape, the headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from voxclone.api.openapi import MULTIPART_ROUTES


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


async def test_every_way_to_present_a_key_is_a_security_scheme(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["Bearer"]["description"],
    }
    assert schemes["XApiKey"]["name"] == "X-API-Key"
    assert schemes["XiApiKey"]["name"] == "xi-api-key"
    assert schemes["StudioSession"]["in"] == "cookie"
    voices = spec["paths"]["/v1/voices"]["get"]
    assert {"Bearer": []} in voices["security"]
    assert "security" not in spec["paths"]["/health"]["get"]


async def test_multipart_routes_describe_their_bodies(spec: dict[str, Any]) -> None:
    for method, path in MULTIPART_ROUTES:
        if path not in spec["paths"]:
            continue
        body = spec["paths"][path][method]["requestBody"]["content"]
        schema = body["multipart/form-data"]["schema"]
        files = [n for n, p in schema["properties"].items() if p.get("format") == "binary"]
        assert files, (method, path)


async def test_errors_are_documented_in_the_error_shape_with_their_headers(
    spec: dict[str, Any],
) -> None:
    for method, path, op in operations(spec):
        responses = op["responses"]
        assert "422" in responses and "400" in responses, (method, path)
        schema = responses["422"]["content"]["application/json"]["schema"]["$ref"]
        assert schema.endswith("/Error") or schema.endswith("/ElevenLabsError")
        for answer in responses.values():
            assert "X-Request-Id" in answer["headers"], (method, path)
        if op.get("security"):
            assert {"401", "403", "429"} <= set(responses), (method, path)
            assert "Retry-After" in responses["429"]["headers"]
        if "{" in path:
            assert "404" in responses, (method, path)
    speech = spec["paths"]["/v1/audio/speech"]["post"]["responses"]
    assert {"402", "502", "503", "504"} <= set(speech)
    assert "X-Cache" in speech["200"]["headers"]
