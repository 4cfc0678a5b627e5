"""The real peers of the distributed mode, for tests: PostgreSQL, Redis and an S3 server.

PostgreSQL and Redis run on this machine (``.ci/run`` starts them when they are not
answering); tests that need them fail, never skip, when they are missing. The S3 server is
moto's standalone server, started on a free loopback port. Override the addresses with
``VOXCLONE_TEST_POSTGRES_URL`` (a database the tests may create databases from) and
``VOXCLONE_TEST_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "VOXCLONE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VOXCLONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
S3_KEY, S3_SECRET, S3_REGION = "testing", "testing", "us-east-1"

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL -------------------------------------------------------------------------------


def _dsn(url: str) -> str:
    """An asyncpg DSN for a SQLAlchemy url."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> list[Any]:
    import asyncpg

    try:
        conn = await asyncpg.connect(_dsn(url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL at {make_url(url).render_as_string()} is not answering ({exc}); "
            "start it (.ci/run does) or point VOXCLONE_TEST_POSTGRES_URL elsewhere"
        ) from exc
    try:
        return [await conn.fetch(statement) for statement in statements]
    finally:
        await conn.close()


def query(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of one SELECT on the database at ``url``, as dicts (for checks on job rows)."""
    (records,) = asyncio.run(_execute(url, sql))
    return [dict(r) for r in records]


def create_database(prefix: str = "voxclone_test") -> str:
    """A new, empty database on the test server; returns its SQLAlchemy url."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def temporary_database(prefix: str = "voxclone_test") -> Iterator[str]:
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)


_EMPTY_ALL = """
DO $$
DECLARE t text;
BEGIN
  SET LOCAL session_replication_role = replica;  -- skip foreign-key checks while emptying
  FOR t IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('DELETE FROM %I', t);
  END LOOP;
END $$;
"""


def empty_all_tables(url: str) -> None:
    """Empty every table but Alembic's (the schema stays migrated). DELETE, not TRUNCATE:
    on tables this small it is many times faster."""
    asyncio.run(_execute(url, _EMPTY_ALL))


# --- Redis ------------------------------------------------------------------------------------


def redis_ping(url: str = REDIS_URL, timeout: float = 1.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def require_redis(url: str = REDIS_URL) -> str:
    if not redis_ping(url):
        raise RuntimeError(
            f"Redis at {url} is not answering; start it (.ci/run does) or point "
            "VOXCLONE_TEST_REDIS_URL elsewhere"
        )
    return url


def forget_queue(queue_name: str, url: str = REDIS_URL) -> None:
    """Delete what a test's Celery queue left in Redis (its list, waiting set, bindings)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        names = [k for k in client.scan_iter(match=f"*{queue_name}*")]
        if names:
            client.delete(*names)
    except redis.RedisError:
        pass
    finally:
        client.close()


def stop_redis() -> None:
    """Shut the local Redis down without saving: every key it held is gone."""
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
        check=False,
        timeout=10,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while redis_ping(timeout=0.2):
        if time.monotonic() > deadline:
            raise RuntimeError("Redis did not stop")
        time.sleep(0.05)


def ensure_redis() -> None:
    """Start the local Redis if it is not answering (as ``.ci/run`` does)."""
    if redis_ping():
        return
    subprocess.run(REDIS_START, check=True, timeout=10)
    deadline = time.monotonic() + 10
    while not redis_ping():
        if time.monotonic() > deadline:
            raise RuntimeError("Redis did not come back")
        time.sleep(0.05)


# --- S3 (moto's standalone server) ------------------------------------------------------------


class S3Server:
    """moto's S3 server in a thread on a free loopback port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> S3Server:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_REGION,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )

    def new_bucket(self) -> str:
        name = f"voxclone-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self) -> dict[str, str]:
        """``VOXCLONE_S3__*`` values for this server."""
        return {
            "VOXCLONE_S3__ENDPOINT_URL": self.endpoint,
            "VOXCLONE_S3__REGION": S3_REGION,
            "VOXCLONE_S3__ACCESS_KEY_ID": S3_KEY,
            "VOXCLONE_S3__SECRET_ACCESS_KEY": S3_SECRET,
        }
