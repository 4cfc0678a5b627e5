"""API keys: issuing, authenticating, revoking.

User keys look like ``vx_<43 url-safe characters>`` and are stored only as SHA-256 hashes.
The admin key comes from settings or is generated on first start (see ``ensure_admin_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import AuthenticationError, NotFound
from voxclone.core.types import new_id, parse_id
from voxclone.db import keys as key_queries
from voxclone.db.tables import ApiKey
from voxclone.services.state_cache import KEYS, TtlCache

log = logging.getLogger(__name__)

USER_KEY_PREFIX = "vx_"
ADMIN_KEY_PREFIX = "vxadmin_"
ADMIN_KEY_FILE = "admin_key"


def generate_key(prefix: str = USER_KEY_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def ensure_admin_key(data_dir: Path, configured: str | None) -> tuple[str, bool]:
    """The admin key, and whether it was generated just now.

    A configured key wins. Otherwise the key is read from ``DATA_DIR/admin_key``, or generated
    there with mode 0600 when the file does not exist yet.
    """
    if configured:
        return configured, False
    path = data_dir / ADMIN_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key(ADMIN_KEY_PREFIX)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key, True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the admin, or the owner of one user key, with the key's own limits
    (None: the server's default) and billing window (None: the calendar month)."""

    key_id: str | None
    is_admin: bool = False
    label: str = ""
    rate_limit_per_minute: int | None = None
    monthly_char_quota: int | None = None
    max_concurrent_jobs: int | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None


KEY_LIMIT_FIELDS = ("rate_limit_per_minute", "monthly_char_quota", "max_concurrent_jobs")
"""The limits an admin sets on a key (``POST /v1/keys``, ``PATCH /v1/keys/{id}``)."""


def generate_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKey
    secret: str
    """The key itself: shown once, never stored."""


class KeyService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        admin_key: str,
        cache_s: float = 0.0,
    ) -> None:
        self._sessions = sessions
        self._admin_hash = hash_key(admin_key)
        self._cache_s = cache_s
        # key hash -> principal: spares a database round trip per request. A change to a key
        # in this process drops it at once; other hosts see it within ``cache_s`` seconds, or
        # when Redis carries the change (services/state_cache.py, docs/decisions.md).
        self._cache: TtlCache[str, Principal] = TtlCache(KEYS, ttl_s=cache_s)

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise AuthenticationError(
                "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        digest = hash_key(token)
        if not token.startswith(USER_KEY_PREFIX) and not hmac.compare_digest(
            digest, self._admin_hash
        ):
            raise AuthenticationError("invalid API key")
        return await self.authenticate_hash(digest)

    async def authenticate_hash(self, digest: str) -> Principal:
        """Who holds the key whose SHA-256 hex is ``digest`` (a studio session keeps only the
        hash); a revoked or unknown key is refused as its secret would be."""
        if hmac.compare_digest(digest, self._admin_hash):
            return Principal(key_id=None, is_admin=True, label="admin")
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        read_at = self._cache.reader()
        async with self._sessions() as session:
            record = await key_queries.get_key_by_hash(
                session, key_hash=digest, include_revoked=True
            )
        # The lookup is by an index on the hash; compare the hashes again in constant time so
        # that nothing about the stored value leaks through timing.
        if record is None or not hmac.compare_digest(record.key_hash, digest):
            raise AuthenticationError("invalid API key")
        if record.revoked_at is not None:
            raise AuthenticationError("this API key has been revoked")
        principal = principal_of(record)
        self._cache.put(digest, principal, read_at=read_at)
        return principal

    async def create(
        self,
        *,
        label: str = "",
        rate_limit_per_minute: int | None = None,
        monthly_char_quota: int | None = None,
        max_concurrent_jobs: int | None = None,
        email: str | None = None,
        plan: str | None = None,
        stripe_customer_id: str | None = None,
        stripe_subscription_id: str | None = None,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
    ) -> IssuedKey:
        secret = generate_key()
        async with self._sessions() as session:
            record = await key_queries.create_key(
                session,
                id=new_id(),
                label=label,
                key_hash=hash_key(secret),
                prefix=secret[:8],
                rate_limit_per_minute=rate_limit_per_minute,
                monthly_char_quota=monthly_char_quota,
                max_concurrent_jobs=max_concurrent_jobs,
                email=email,
                plan=plan,
                stripe_customer_id=stripe_customer_id,
                stripe_subscription_id=stripe_subscription_id,
                period_start=period_start,
                period_end=period_end,
            )
            await session.commit()
        return IssuedKey(record=record, secret=secret)

    async def get(self, *, key_id: str) -> ApiKey:
        key_id = parse_id(key_id, what="key_id")
        async with self._sessions() as session:
            record = await key_queries.get_key(session, key_id=key_id)
        if record is None:
            raise NotFound(f"no API key with id {key_id}", key_id=key_id)
        return record

    async def update(self, *, key_id: str, **fields: object) -> ApiKey:
        """Set the key's limits, billing window or Stripe ids (``ApiKey`` column names; None
        clears a limit back to the server's default). This process forgets the key's cached
        principal at once; other API hosts within ``auth_cache_s``."""
        key_id = parse_id(key_id, what="key_id")
        async with self._sessions() as session:
            record = await key_queries.update_key(session, key_id=key_id, **fields)
            if record is None:
                raise NotFound(f"no API key with id {key_id}", key_id=key_id)
            await session.commit()
        self._cache.pop(record.key_hash)
        return record

    def forget(self, *, key_hash: str) -> None:
        """Drop the cached principal of a key changed in another service's transaction (the
        billing webhooks issue and revoke keys in the transaction that records the event)."""
        self._cache.pop(key_hash)

    async def rotate_webhook_secret(self, *, key_id: str) -> str:
        """A new secret for signing the key's outbound webhooks; the old one stops at once."""
        secret = generate_webhook_secret()
        await self.update(key_id=key_id, webhook_secret=secret)
        return secret

    async def list(self) -> list[ApiKey]:
        async with self._sessions() as session:
            return list(await key_queries.list_keys(session, include_revoked=True))

    async def revoke(self, *, key_id: str) -> datetime:
        key_id = parse_id(key_id, what="key_id")
        async with self._sessions() as session:
            record = await key_queries.revoke_key(session, key_id=key_id)
            if record is None or record.revoked_at is None:
                raise NotFound(f"no API key with id {key_id}", key_id=key_id)
            await session.commit()
        self._cache.pop(record.key_hash)
        return record.revoked_at


def principal_of(record: ApiKey) -> Principal:
    return Principal(
        key_id=record.id,
        label=record.label,
        rate_limit_per_minute=record.rate_limit_per_minute,
        monthly_char_quota=record.monthly_char_quota,
        max_concurrent_jobs=record.max_concurrent_jobs,
        period_start=record.period_start,
        period_end=record.period_end,
    )
