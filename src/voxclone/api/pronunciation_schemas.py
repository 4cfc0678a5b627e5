"""Request and response bodies of the pronunciation dictionary routes (ElevenLabs' shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from voxclone.db.tables import PronunciationDictionary
from voxclone.services.pronunciation import Locator


class PronunciationLocator(BaseModel):
    """ElevenLabs' ``{"pronunciation_dictionary_id", "version_id"}``; no version: the current."""

    pronunciation_dictionary_id: str = Field(max_length=64)
    version_id: str | None = Field(None, max_length=64)


LOCATORS_DESCRIPTION = (
    "Up to 3 of this key's pronunciation dictionaries, applied to the text in order before "
    "the engine phonemizes it (docs/pronunciation.md)."
)


def locators(items: list[PronunciationLocator] | None) -> list[Locator] | None:
    if not items:
        return None
    return [Locator(i.pronunciation_dictionary_id, i.version_id) for i in items]


class PronunciationRule(BaseModel):
    type: Literal["alias", "phoneme"]
    string_to_replace: str = Field(description="The word or phrase to replace (whole words).")
    alias: str | None = Field(None, description="alias rules: the text said instead.")
    phoneme: str | None = Field(None, description="phoneme rules: the engine's phonemes.")
    alphabet: str | None = Field(None, description="phoneme rules: ipa (the default).")


class DictionaryCreate(BaseModel):
    name: str = Field(max_length=200)
    description: str | None = Field(None, max_length=2000)
    rules: list[PronunciationRule] = Field(max_length=1000)


class DictionaryPublic(BaseModel):
    id: str
    name: str
    description: str | None
    version_id: str
    version_rules_num: int
    rules: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, row: PronunciationDictionary) -> DictionaryPublic:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            version_id=row.version_id,
            version_rules_num=len(row.rules),
            rules=row.rules,
            created_at=row.created_at,
        )


class DictionaryList(BaseModel):
    pronunciation_dictionaries: list[DictionaryPublic]
