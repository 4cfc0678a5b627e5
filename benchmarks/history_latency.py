"""History list latency with 10,000 items: GET /v1/history, first page and text searches.

Builds the services on a temporary SQLite database (or ``--database-url``, e.g. PostgreSQL,
which should be empty), inserts ``--items`` history items for one key straight into the
database (spread over 90 days, five voices, one word in a hundred texts rare), and times
requests through the app in process (httpx's ASGI transport: routing, auth, the query and the
JSON, no socket):

- first page: GET /v1/history?limit=50;
- next page: the page after the first, by cursor;
- a voice's items: ?voice_id=…;
- text search, rare word: ?search=… matching 1 % of the items;
- text search, no match: ?search=… that scans every item of the key and finds none.

Prints one table of p50 / p95 / mean in milliseconds.

    .venv/bin/python benchmarks/history_latency.py [--items 10000] [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ADMIN = "vxadmin_benchmark"
WORDS = [
    *("the", "early", "train", "was", "quiet", "except", "for", "the", "rain", "against"),
    *("the", "windows", "she", "folded", "the", "map"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def plant(services: object, key_id: str, items: int) -> None:
    from voxclone.core.types import new_id
    from voxclone.db.tables import HistoryItem
    from voxclone.services.container import Services

    assert isinstance(services, Services)
    await services.blobs.put("bench/audio.wav", b"RIFF" + bytes(4000))
    rng = random.Random(0)
    now = datetime.now(UTC)
    async with services.sessions() as session:
        for start in range(0, items, 1000):
            rows = []
            for i in range(start, min(items, start + 1000)):
                words = rng.choices(WORDS, k=12)
                if i % 100 == 0:
                    words[rng.randrange(12)] = "Zanzibar"
                rows.append(
                    HistoryItem(
                        id=new_id(),
                        key_id=key_id,
                        voice_id=f"voice-{i % 5}",
                        voice_name=f"voice {i % 5}",
                        voice_deleted=False,
                        text=" ".join(words).capitalize() + ".",
                        lang="en",
                        params={"format": "wav", "speed": 1.0, "seed": i},
                        backend="piper",
                        entry="sync",
                        audio_key="bench/audio.wav",
                        audio_format="wav",
                        audio_bytes=4004,
                        duration_s=3.2,
                        characters=60,
                        cache_hit=False,
                        starred=i % 50 == 0,
                        created_at=now - timedelta(seconds=rng.uniform(0, 90 * 86400)),
                    )
                )
            session.add_all(rows)
            await session.commit()


async def measure(items: int, runs: int, database_url: str | None) -> list[tuple[str, list[float]]]:
    from voxclone.api.app import create_app
    from voxclone.config import Settings
    from voxclone.services.container import build_services

    with tempfile.TemporaryDirectory() as data:
        extra = {"database_url": database_url} if database_url else {}
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=Path(data), admin_key=ADMIN, log_level="warning", **extra
        )
        services = build_services(settings)
        app = create_app(services=services)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                r = await c.post("/v1/keys", json={"label": "b"}, headers={"X-API-Key": ADMIN})
                user = {"Authorization": f"Bearer {r.json()['api_key']}"}
                t = time.perf_counter()
                await plant(services, r.json()["key_id"], items)
                print(f"inserted {items} items in {time.perf_counter() - t:.1f} s")
                first = await c.get("/v1/history", params={"limit": 50}, headers=user)
                cursor = first.json()["next_cursor"]
                cases: list[tuple[str, dict[str, str | int], Callable[[Any], bool]]] = [
                    ("first page (limit 50)", {"limit": 50}, lambda b: len(b["items"]) == 50),
                    ("next page, by cursor", {"limit": 50, "cursor": cursor}, lambda b: True),
                    ("one voice's items", {"voice_id": "voice-3"}, lambda b: True),
                    ("text search, rare word (1 %)", {"search": "zanzibar"}, lambda b: True),
                    ("text search, no match", {"search": "qwxyz"}, lambda b: not b["items"]),
                ]
                rows = []
                for name, params, ok in cases:
                    timings = []
                    for i in range(runs + 5):
                        t = time.perf_counter()
                        r = await c.get("/v1/history", params=params, headers=user)
                        elapsed = (time.perf_counter() - t) * 1000
                        assert r.status_code == 200 and ok(r.json()), r.text
                        if i >= 5:  # the first few warm up
                            timings.append(elapsed)
                    rows.append((name, timings))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.items, args.runs, args.database_url))
    db = "PostgreSQL" if args.database_url and "postgres" in args.database_url else "SQLite"
    print(f"GET /v1/history, {args.items:,} items of one key, {db}, n={args.runs} each")
    print(f"{'request':<34} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for name, values in rows:
        print(
            f"{name:<34} {statistics.median(values):8.2f} {pct(values, 0.95):8.2f}"
            f" {statistics.fmean(values):8.2f}"
        )


if __name__ == "__main__":
    main()
