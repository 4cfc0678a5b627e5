"""Pronunciation rules: checking them, reading them from a PLS lexicon, applying them to text.

A rule is ``{"type": "alias", "string_to_replace", "alias"}`` (the words are replaced by the
alias text) or ``{"type": "phoneme", "string_to_replace", "phoneme", "alphabet"}`` (the words
become the inline override ``[words](/phoneme/)``, which the engine speaks as written). Rules
match whole words, case-sensitively, longest first; text that is already markup is left alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from typing import Any

from voxclone.core.errors import InvalidLexicon
from voxclone.engines.markup import split_markup

MAX_RULES = 1000
MAX_CHARS = 200
ALPHABETS = ("ipa",)
"""``ipa``: the engine's own phoneme symbols (Kokoro: misaki's; Piper: espeak IPA)."""
_FORBIDDEN = set("[]()/")


def check_rules(rules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules in their stored shape; raises ``InvalidLexicon`` (422) naming the bad one."""
    out: list[dict[str, Any]] = []
    for n, rule in enumerate(rules):
        kind = rule.get("type")
        target = str(rule.get("string_to_replace") or "").strip()
        where = f"rule {n} ({target!r})"
        if not target or len(target) > MAX_CHARS:
            raise InvalidLexicon(
                f"rule {n}: string_to_replace must hold 1 to {MAX_CHARS} characters", rule=n
            )
        if _FORBIDDEN & set(target):
            raise InvalidLexicon(f"{where}: string_to_replace may not hold [ ] ( ) /", rule=n)
        if kind == "alias":
            alias = str(rule.get("alias") or "").strip()
            if not alias or len(alias) > MAX_CHARS:
                raise InvalidLexicon(f"{where}: an alias of 1 to {MAX_CHARS} characters", rule=n)
            out.append({"type": "alias", "string_to_replace": target, "alias": alias})
        elif kind == "phoneme":
            phoneme = " ".join(str(rule.get("phoneme") or "").split())
            alphabet = str(rule.get("alphabet") or "ipa").strip().lower()
            if alphabet not in ALPHABETS:
                raise InvalidLexicon(
                    f"{where}: alphabet {alphabet!r} is not supported; use "
                    f"{', '.join(ALPHABETS)} (the engine's own phoneme symbols)",
                    rule=n,
                    alphabet=alphabet,
                )
            if not phoneme or len(phoneme) > MAX_CHARS or _FORBIDDEN & set(phoneme):
                raise InvalidLexicon(
                    f"{where}: phoneme must hold 1 to {MAX_CHARS} characters, none of [ ] ( ) /",
                    rule=n,
                )
            out.append(
                {
                    "type": "phoneme",
                    "string_to_replace": target,
                    "phoneme": phoneme,
                    "alphabet": alphabet,
                }
            )
        else:
            raise InvalidLexicon(f"rule {n}: type must be alias or phoneme, got {kind!r}", rule=n)
    if len(out) > MAX_RULES:
        raise InvalidLexicon(f"a dictionary holds at most {MAX_RULES} rules", max_rules=MAX_RULES)
    return out


def parse_pls(data: bytes) -> list[dict[str, Any]]:
    """The rules of a W3C Pronunciation Lexicon (PLS) file: each ``<lexeme>`` gives one rule
    per ``<grapheme>``, from its ``<alias>`` or else its first ``<phoneme>``."""
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise InvalidLexicon("a PLS file may not declare a DOCTYPE or entities")
    try:
        # No DOCTYPE, so no entity can be declared, expanded or fetched: expat is safe here.
        root = ElementTree.fromstring(data)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise InvalidLexicon(f"the file is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "lexicon":
        raise InvalidLexicon(f"a PLS file's root is <lexicon>, not <{_local(root.tag)}>")
    alphabet = root.get("alphabet", "ipa")
    rules: list[dict[str, Any]] = []
    for lexeme in _named(root, "lexeme"):
        graphemes = [g.text or "" for g in _named(lexeme, "grapheme")]
        aliases, phonemes = _named(lexeme, "alias"), _named(lexeme, "phoneme")
        alias = aliases[0] if aliases else None
        phoneme = phonemes[0] if phonemes else None
        for grapheme in graphemes:
            if alias is not None:
                rules.append(
                    {"type": "alias", "string_to_replace": grapheme, "alias": alias.text or ""}
                )
            elif phoneme is not None:
                rules.append(
                    {
                        "type": "phoneme",
                        "string_to_replace": grapheme,
                        "phoneme": phoneme.text or "",
                        "alphabet": phoneme.get("alphabet", alphabet),
                    }
                )
    if not rules:
        raise InvalidLexicon(
            "the lexicon has no <lexeme> with a <grapheme> and an <alias> or <phoneme>"
        )
    return check_rules(rules)


def apply_rules(text: str, rules: list[dict[str, Any]]) -> str:
    """``text`` with the rules applied (the first rule for a string wins)."""
    table: dict[str, dict[str, Any]] = {}
    for rule in rules:
        table.setdefault(rule["string_to_replace"], rule)
    if not table:
        return text
    targets = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, targets)) + r")(?!\w)")

    def replace(match: re.Match[str]) -> str:
        rule = table[match.group(0)]
        if rule["type"] == "alias":
            return str(rule["alias"])
        return f"[{match.group(0)}](/{rule['phoneme']}/)"

    return "".join(
        piece if is_markup else pattern.sub(replace, piece)
        for piece, is_markup in split_markup(text)
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _named(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    """The descendants of ``element`` called ``name``, in any namespace (PLS's or none)."""
    return [e for e in element.iter() if e is not element and _local(e.tag) == name]
