"""Text preparation shared by the engines: cleaning text and cutting it into sentences.

Engines stream one audio chunk per sentence, so where a sentence ends decides both the prosody
and the time to first audio. ``split_sentences`` is a rule-based splitter for English-like text
and CJK punctuation; it does not need a model and is deterministic.
"""

from __future__ import annotations

import re
import unicodedata

TITLE_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "ft", "rev", "fr"),
        *("gen", "col", "capt", "cmdr", "lt", "sgt", "hon", "gov", "pres"),
        *("e.g", "i.e", "vs", "cf", "viz", "approx", "ca"),
    }
)
"""Abbreviations (lower case, without the final period) that never end a sentence."""

NUMBER_ABBREVIATIONS = frozenset(
    {"no", "nos", "nr", "p", "pp", "vol", "fig", "ch", "sec", "art", "op"}
)
"""Abbreviations that do not end a sentence when a number follows: "No. 5", "p. 12"."""

_OPENERS = "\"'“‘«([{「『（"
_CLOSERS = "\"'”’»)]}」』）"
_LATIN_END = re.compile(rf"[.!?…]+[{re.escape(_CLOSERS)}]*(?=\s|$)")
_CJK_END = re.compile(rf"[。！？｡]+[{re.escape(_CLOSERS)}]*")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_CLAUSE_END = re.compile(r"[,;:](?=\s)\s*|[—–]\s*|[，；：、]\s*")
_WORD_END = re.compile(r"\s+")
_LAST_WORD = re.compile(r"(\S+)$")
_ABBREVIATION_PERIOD = re.compile(
    rf"(?<![\w.])([A-Za-z]+)\.(?=\s+[{re.escape(_OPENERS)}]*[A-Z])",
)
_DROPPED_FORMAT_CHARS = frozenset("\u200b\u2060\ufeff\u00ad")
"""Zero-width space, word joiner, byte-order mark, soft hyphen: invisible and unspoken."""


def normalize_text(text: str) -> str:
    """Clean text for synthesis: NFC, no control characters, whitespace collapsed.

    Runs of spaces, tabs and single line breaks become one space; a blank line (a paragraph
    break) is kept as ``"\\n\\n"`` so that ``split_sentences`` can still end a sentence there.
    The result has no leading or trailing whitespace.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2029", "\n\n")
    text = "".join(ch for ch in text if not _is_unspoken(ch))
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def split_sentences(text: str, *, max_chars: int = 300) -> list[str]:
    """Cut ``text`` into sentences of at most ``max_chars`` characters each.

    A sentence ends at ``.``, ``!``, ``?`` or an ellipsis (with any closing quotes or brackets)
    followed by whitespace, at the CJK full stop, exclamation and question marks even without
    whitespace, and at a blank line. It does not end after a title or Latin abbreviation
    ("Dr. Smith", "e.g. Paris"), an initial ("J. Smith"), "No. 5", inside a number ("3.14"),
    or before a lower-case word ("Wait... what?", '"Stop!" she cried.'). A single line break
    is only whitespace, so hard-wrapped prose stays whole. Dotted acronyms before a capital
    ("the U.S. Senate") are taken as sentence ends.

    A sentence longer than ``max_chars`` is cut at clause punctuation (commas, semicolons,
    colons, dashes, CJK commas), then at whitespace, then anywhere. Whitespace inside each
    sentence is collapsed, and pieces with no letters or digits (a lone "...") are dropped.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        for sentence in _split_paragraph(paragraph):
            sentences.extend(_split_long(sentence, max_chars))
    chunks = (" ".join(s.split()) for s in sentences)
    return [c for c in chunks if any(ch.isalnum() for ch in c)]


def drop_abbreviation_periods(text: str) -> str:
    """Remove the period after titles and initials that come before a capitalised word.

    "Dr. Smith" becomes "Dr Smith" and "J. R. Tolkien" becomes "J R Tolkien". This is for
    engine front ends (espeak) that end a sentence at every such period, which gives the
    abbreviation a sentence-final fall and pause; they read the bare forms correctly.
    """

    def replace(match: re.Match[str]) -> str:
        word = match.group(1)
        if word.lower() in TITLE_ABBREVIATIONS or (len(word) == 1 and word.isupper()):
            return word
        return match.group(0)

    return _ABBREVIATION_PERIOD.sub(replace, text)


def _is_unspoken(ch: str) -> bool:
    if ch.isspace():
        return False
    return ch in _DROPPED_FORMAT_CHARS or unicodedata.category(ch) in ("Cc", "Cs")


def _split_paragraph(paragraph: str) -> list[str]:
    ends = [m.end() for m in _LATIN_END.finditer(paragraph) if _ends_sentence(paragraph, m)]
    ends += [m.end() for m in _CJK_END.finditer(paragraph)]
    pieces, start = [], 0
    for end in sorted(set(ends)):
        pieces.append(paragraph[start:end])
        start = end
    pieces.append(paragraph[start:])
    return [p for p in (piece.strip() for piece in pieces) if p]


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether the Latin terminator ``match`` ends a sentence, judged from its neighbours."""
    following = text[match.end() :].lstrip().lstrip(_OPENERS)
    if not following:
        return True
    next_char = following[0]
    if next_char.islower():
        return False
    if match.group(0).rstrip(_CLOSERS) != ".":
        return True
    previous = _LAST_WORD.search(text[: match.start()])
    if previous is None:
        return True
    word = previous.group(1).lstrip(_OPENERS)
    if word.lower() in TITLE_ABBREVIATIONS:
        return False
    if word.lower() in NUMBER_ABBREVIATIONS and next_char.isdigit():
        return False
    return not (len(word) == 1 and word.isupper())


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    for clauses in _pack(_cut_after(sentence, _CLAUSE_END), max_chars):
        if len(clauses.strip()) <= max_chars:
            pieces.append(clauses)
            continue
        for words in _pack(_cut_after(clauses, _WORD_END), max_chars):
            words = words.strip()
            pieces.extend(words[i : i + max_chars] for i in range(0, len(words), max_chars))
    return pieces


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    """``text`` cut after each match of ``pattern``; the parts join back to ``text``."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        if match.end() > start:
            parts.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        parts.append(text[start:])
    return parts


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts while the stripped result fits in ``max_chars``.

    A part that is too long on its own becomes a group by itself.
    """
    groups: list[str] = []
    current = ""
    for part in parts:
        if current and len((current + part).strip()) > max_chars:
            groups.append(current)
            current = ""
        current += part
    if current:
        groups.append(current)
    return groups
