"""Pronunciation rules: checked, read from PLS lexicons, applied to text as inline markup."""

from __future__ import annotations

import pytest

from voxclone.core.errors import InvalidLexicon
from voxclone.services.pronunciation_rules import apply_rules, check_rules, parse_pls

PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
    alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>Kokoro</grapheme><phoneme>kˈOkəɹO</phoneme></lexeme>
  <lexeme><grapheme>UN</grapheme><grapheme>U.N</grapheme><alias>United Nations</alias></lexeme>
</lexicon>
"""


def test_rules_replace_whole_words_longest_first_outside_markup() -> None:
    rules = check_rules(
        [
            {"type": "alias", "string_to_replace": "UN", "alias": "United Nations"},
            {"type": "alias", "string_to_replace": "UN summit", "alias": "the big meeting"},
            {"type": "phoneme", "string_to_replace": "Kokoro", "phoneme": "kˈOkəɹO"},
        ]
    )
    text = "The UN and the UN summit: Kokoro, not Kokoros, nor UNICEF. [Kokoro](/kə/)"
    assert apply_rules(text, rules) == (
        "The United Nations and the the big meeting: [Kokoro](/kˈOkəɹO/), not Kokoros, "
        "nor UNICEF. [Kokoro](/kə/)"
    )
    assert apply_rules("kokoro", rules) == "kokoro"  # case-sensitive
    assert apply_rules("nothing here", []) == "nothing here"


def test_a_pls_lexicon_gives_one_rule_per_grapheme() -> None:
    assert parse_pls(PLS.encode()) == [
        {"type": "phoneme", "string_to_replace": "Kokoro", "phoneme": "kˈOkəɹO", "alphabet": "ipa"},
        {"type": "alias", "string_to_replace": "UN", "alias": "United Nations"},
        {"type": "alias", "string_to_replace": "U.N", "alias": "United Nations"},
    ]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"<lexicon><lexeme>", "not well-formed"),
        (b"<speak/>", "root is <lexicon>"),
        (b"<lexicon/>", "no <lexeme>"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><lexicon/>', "DOCTYPE"),
        (PLS.replace('alphabet="ipa"', 'alphabet="x-sampa"').encode(), "x-sampa"),
    ],
)
def test_bad_lexicons_are_refused(data: bytes, detail: str) -> None:
    with pytest.raises(InvalidLexicon, match=detail):
        parse_pls(data)


@pytest.mark.parametrize(
    ("rule", "detail"),
    [
        ({"type": "alias", "string_to_replace": "", "alias": "x"}, "string_to_replace"),
        ({"type": "alias", "string_to_replace": "a", "alias": ""}, "an alias"),
        ({"type": "phoneme", "string_to_replace": "a", "phoneme": "k/o"}, "phoneme must"),
        ({"type": "spell", "string_to_replace": "a"}, "alias or phoneme"),
    ],
)
def test_bad_rules_are_named(rule: dict[str, str], detail: str) -> None:
    with pytest.raises(InvalidLexicon, match=detail):
        check_rules([rule])
