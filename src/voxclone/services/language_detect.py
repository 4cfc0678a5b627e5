"""``language="auto"``: the language of the text, among those the engine speaks.

py3langid (a maintained fork of langid.py, BSD-3, its 4 MB naive-Bayes model inside the wheel,
no download) classifies the text, restricted to the engine's languages (their primary tags).
When the text is too short or mixed to tell (confidence under ``MIN_CONFIDENCE``), or the
engine speaks one language only, the voice's own language is kept. A detected language that is
the voice's own primary language keeps the voice's tag (``en-gb`` stays ``en-gb``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from typing import Any

AUTO = "auto"
MIN_CONFIDENCE = 0.5
_lock = threading.Lock()


def primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def detect_language(text: str, *, languages: Iterable[str], default: str) -> str:
    """The tag to speak ``text`` in: a language of ``languages`` (an engine's tags) that the
    text is written in, or ``default`` (the voice's language) when that cannot be told."""
    candidates = sorted({primary(tag) for tag in languages} - {""})
    if len(candidates) < 2 or not text.strip():
        return default
    found, confidence = _classify(text, tuple(candidates))
    if confidence < MIN_CONFIDENCE or found == primary(default):
        return default
    return found


def _classify(text: str, candidates: tuple[str, ...]) -> tuple[str, float]:
    identifier = _identifier(candidates)
    with _lock:
        lang, confidence = identifier.classify(text)
    return str(lang), float(confidence)


@functools.lru_cache(maxsize=8)
def _identifier(candidates: tuple[str, ...]) -> Any:
    """A classifier over ``candidates`` (languages langid does not know are dropped)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = [lang for lang in candidates if lang in identifier.nb_classes]
    identifier.set_languages(known or None)
    return identifier
