"""Schemathesis over the whole API, generated from its own /openapi.json, against a real server
on loopback: once with a user key, once with the admin key. The contract holds when no answer
is a 5xx, and every answer's status, content type, headers and body are the ones documented.

Bounded for `make test` (``FUZZ_EXAMPLES`` cases per operation, 10 by default); `make fuzz`
runs the same with many more. The checks that judge which inputs should be accepted
(positive_data_acceptance, negative_data_rejection) are left out here: they flag opaque
cursors and ids the schema cannot describe, not broken answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN_KEY, fake_registry, make_settings, tone_wav
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.services.container import build_services

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
    services = build_services(make_settings(data_dir), engines=fake_registry())
    with ThreadServer(create_app(services=services), ws="websockets-sansio") as url:
        yield url


@pytest.fixture(scope="module")
def user_key(server: str) -> str:
    r = httpx.post(f"{server}/v1/keys", json={"label": "fuzz"}, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    key = str(r.json()["api_key"])
    # Something to find: a voice, so that routes reading voices have a row to read.
    r = httpx.post(
        f"{server}/v1/voices",
        data={"name": "fuzz", "backend": "fake"},
        files={"ref_audio": ("ref.wav", tone_wav(), "audio/wav")},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201, r.text
    return key


def fuzz(
    server: str, headers: dict[str, str], examples: int, *, mount: str = "", least: int = 80
) -> list[str]:
    """Every operation of the API (or of the app mounted at ``mount``), ``examples`` generated
    cases each; the failures, named."""
    api = schemathesis.openapi.from_url(f"{server}{mount}/openapi.json")
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            case.call_and_validate(base_url=f"{server}{mount}", headers=headers, checks=CHECKS)

        try:
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # checks fail as exception groups: report every operation
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    # Every operation was really called (a schema that fails to load would test nothing).
    assert len(calls) >= least, sorted(calls)
    return failures


def test_a_user_key_gets_only_documented_answers(server: str, user_key: str) -> None:
    failures = fuzz(server, {"Authorization": f"Bearer {user_key}"}, EXAMPLES)
    assert not failures, "\n\n".join(failures)


def test_the_admin_key_gets_only_documented_answers(server: str) -> None:
    failures = fuzz(server, {"X-API-Key": ADMIN_KEY}, max(2, EXAMPLES // 3))
    assert not failures, "\n\n".join(failures)


def test_the_elevenlabs_api_gets_only_documented_answers(server: str, user_key: str) -> None:
    failures = fuzz(server, {"xi-api-key": user_key}, EXAMPLES, mount="/elevenlabs", least=15)
    assert not failures, "\n\n".join(failures)
