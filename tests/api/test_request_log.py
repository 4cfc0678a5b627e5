"""One log line per request with its id, echoed in X-Request-Id; JSON lines on demand."""

from __future__ import annotations

import json
import logging

import pytest
from httpx import AsyncClient

from voxclone.config import Settings
from voxclone.logs import configure_logging


async def test_every_answer_carries_a_request_id_and_one_log_line(
    client: AsyncClient, user: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voxclone.access")
    r = await client.get("/v1/voices", headers=user)
    assert r.status_code == 200
    request_id = r.headers["x-request-id"]
    assert len(request_id) == 32
    [line] = [rec for rec in caplog.records if getattr(rec, "request_id", None) == request_id]
    assert line.route == "/v1/voices"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]
    assert line.key_id and line.key_id != "admin"  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]


async def test_a_sane_client_id_is_kept_and_a_hostile_one_replaced(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voxclone.access")
    r = await client.get("/v1/voices/123", headers={"X-Request-Id": "trace-abc.1"})
    assert r.status_code == 401  # errors are logged and tagged too
    assert r.headers["x-request-id"] == "trace-abc.1"
    r = await client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    routes = {getattr(rec, "route", None) for rec in caplog.records}
    assert "/v1/voices/{voice_id}" in routes  # the template, never the raw path


def test_json_log_lines_carry_the_request_fields(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(Settings(_env_file=None, log_format="json"))  # type: ignore[call-arg]
        logging.getLogger("voxclone.access").info(
            "GET /x 200", extra={"route": "/x", "status": 200, "request_id": "r1", "key_id": None}
        )
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert line["route"] == "/x"
    assert line["status"] == 200
    assert line["request_id"] == "r1"
    assert line["level"] == "INFO"
    assert line["logger"] == "voxclone.access"
