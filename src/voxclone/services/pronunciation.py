"""Per-key pronunciation dictionaries (docs/pronunciation.md).

A dictionary is a named, ordered list of alias and phoneme rules (``pronunciation_rules``). A
synthesis names up to ``MAX_LOCATORS`` of them (ElevenLabs' ``pronunciation_dictionary_locators``,
``[{"pronunciation_dictionary_id", "version_id"}]``); ``apply`` rewrites the text with their
rules before anything else sees it, so the engine gets inline markup and the cache key, computed
from that text, changes whenever the rules change what is said. Another key's dictionary is
404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxclone.core.errors import InvalidInput, InvalidLexicon, NotFound
from voxclone.core.types import new_id
from voxclone.db.tables import PronunciationDictionary
from voxclone.services.pronunciation_rules import apply_rules, check_rules, parse_pls

MAX_LOCATORS = 3
"""As ElevenLabs: at most three dictionaries per request, applied in the order given."""
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Locator:
    dictionary_id: str
    version_id: str | None = None


class PronunciationService:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(
        self,
        *,
        key_id: str,
        name: str,
        rules: Sequence[dict[str, Any]],
        description: str | None = None,
    ) -> PronunciationDictionary:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidLexicon(f"name must hold 1 to {MAX_NAME} characters", field="name")
        row = PronunciationDictionary(
            id=new_id(),
            key_id=key_id,
            name=name,
            description=description,
            version_id=new_id(),
            rules=check_rules(rules),
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
        return row

    async def create_from_pls(
        self, *, key_id: str, name: str, data: bytes, description: str | None = None
    ) -> PronunciationDictionary:
        return await self.create(
            key_id=key_id, name=name, rules=parse_pls(data), description=description
        )

    async def list(self, *, key_id: str) -> Sequence[PronunciationDictionary]:
        query = (
            select(PronunciationDictionary)
            .where(PronunciationDictionary.key_id == key_id)
            .order_by(PronunciationDictionary.created_at, PronunciationDictionary.id)
        )
        async with self._sessions() as session:
            return (await session.execute(query)).scalars().all()

    async def get(self, *, key_id: str, dictionary_id: str) -> PronunciationDictionary:
        async with self._sessions() as session:
            return await _owned(session, key_id, dictionary_id)

    async def delete(self, *, key_id: str, dictionary_id: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.delete(await _owned(session, key_id, dictionary_id))

    async def apply(self, *, key_id: str, locators: Sequence[Locator] | None, text: str) -> str:
        """``text`` with the named dictionaries' rules applied, in the order given."""
        if not locators:
            return text
        if len(locators) > MAX_LOCATORS:
            raise InvalidInput(
                f"at most {MAX_LOCATORS} pronunciation dictionaries per request",
                field="pronunciation_dictionary_locators",
            )
        rules: list[dict[str, Any]] = []
        async with self._sessions() as session:
            for locator in locators:
                row = await _owned(session, key_id, locator.dictionary_id)
                if locator.version_id is not None and locator.version_id != row.version_id:
                    raise NotFound(
                        f"pronunciation dictionary {row.id} has no version "
                        f"{locator.version_id!r}; its version is {row.version_id}",
                        pronunciation_dictionary_id=row.id,
                        version_id=locator.version_id,
                    )
                rules.extend(row.rules)
        return apply_rules(text, rules)


async def _owned(session: AsyncSession, key_id: str, dictionary_id: str) -> PronunciationDictionary:
    row = await session.get(PronunciationDictionary, dictionary_id)
    if row is None or row.key_id != key_id:
        raise NotFound(
            f"pronunciation dictionary {dictionary_id} not found",
            pronunciation_dictionary_id=dictionary_id,
        )
    return row
