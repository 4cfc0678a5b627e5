"""Web studio sign-in: an API key exchanged for a session cookie (docs/studio.md).

The browser never holds the key after signing in: the cookie (HttpOnly, SameSite=Strict) carries
a random token whose SHA-256 is the session's id, and state-changing requests must echo the
session's CSRF token in ``X-CSRF-Token``. A session names its key by the key's hash, so revoking
the key ends the session on the next request, on every host.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import AuthenticationError, CsrfRejected
from voxclone.db import studio_sessions as queries
from voxclone.db.tables import utcnow
from voxclone.services.keys import KeyService, Principal, hash_key

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    """The cookie's value: shown to the browser once, stored only as a hash."""
    csrf_token: str
    principal: Principal
    max_age_s: int


@dataclass(frozen=True, slots=True)
class StudioCaller:
    principal: Principal
    csrf_token: str


class StudioSessions:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], keys: KeyService, *, max_age_s: int
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._max_age_s = max_age_s

    async def sign_in(self, api_key: str) -> SignedIn:
        """A new session for whoever holds ``api_key`` (refused as the key itself would be)."""
        principal = await self._keys.authenticate(api_key.strip())
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._sessions() as session:
            await queries.delete_expired(session, now=now)
            await queries.create_session(
                session,
                id=hash_key(token),
                key_hash=hash_key(api_key.strip()),
                csrf_token=csrf,
                expires_at=now + timedelta(seconds=self._max_age_s),
            )
            await session.commit()
        return SignedIn(token, csrf, principal, self._max_age_s)

    async def caller(
        self, token: str, *, method: str, csrf_header: str | None = None
    ) -> StudioCaller:
        """The session's key, checked again; a state-changing ``method`` needs the CSRF token."""
        async with self._sessions() as session:
            record = await queries.get_session(session, id=hash_key(token))
        if record is None or record.expires_at <= utcnow():
            raise AuthenticationError("the studio session has expired: sign in again")
        if method.upper() not in SAFE_METHODS and not (
            csrf_header and hmac.compare_digest(csrf_header, record.csrf_token)
        ):
            raise CsrfRejected(
                "missing or wrong X-CSRF-Token: a studio request that changes state must send "
                "the token it got when signing in"
            )
        principal = await self._keys.authenticate_hash(record.key_hash)
        return StudioCaller(principal, record.csrf_token)

    async def sign_out(self, token: str) -> None:
        async with self._sessions() as session:
            await queries.delete_session(session, id=hash_key(token))
            await session.commit()
