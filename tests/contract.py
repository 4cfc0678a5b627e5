"""The suite checks the OpenAPI document against what it saw: every answer any test got from
the API (method, route template, status, from the request log) must be documented for that
route. Run by ``pytest_sessionfinish`` in tests/conftest.py; a gap fails the run with a list.

Only routes of the standard app are judged (billing routes exist only with Stripe configured),
and only HTTP answers (a WebSocket's close codes are not HTTP statuses).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

ACCESS_LOGGER = "voxclone.access"


class Seen(logging.Handler):
    """Collects (method, route, status) from every request-log line."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.answers: set[tuple[str, str, int]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        method = getattr(record, "method", None)
        route = getattr(record, "route", None)
        status = getattr(record, "status", None)
        if isinstance(method, str) and isinstance(route, str) and isinstance(status, int):
            self.answers.add((method.lower(), route, status))


def install() -> Seen:
    seen = Seen()
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(logging.INFO)
    logger.addHandler(seen)
    return seen


def documented_statuses() -> dict[tuple[str, str], set[str]]:
    from tests.conftest import make_settings
    from voxclone.api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        # every optional router mounted that the suite's tests turn on
        settings = make_settings(Path(tmp), watermark={"enabled": True})
        spec: dict[str, Any] = create_app(settings).openapi()
    return {
        (method, path): set(operation.get("responses", {}))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }


def undocumented(seen: Seen) -> list[str]:
    documented = documented_statuses()
    gaps = []
    for method, route, status in sorted(seen.answers):
        statuses = documented.get((method, route))
        if statuses is None or method == "ws" or "default" in statuses:
            continue
        if str(status) not in statuses and f"{str(status)[0]}XX" not in statuses:
            gaps.append(
                f"{method.upper()} {route} answered {status}; documented: {sorted(statuses)}"
            )
    return gaps
