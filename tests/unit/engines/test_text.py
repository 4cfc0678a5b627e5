import pytest

from voxclone.engines.text import drop_abbreviation_periods, normalize_text, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world. How are you?", ["Hello world.", "How are you?"]),
        ("Stop! Go? Yes.", ["Stop!", "Go?", "Yes."]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("No terminator at the end", ["No terminator at the end"]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_splits_at_terminal_punctuation(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Smith met Mrs. Jones and Dr. Who.",
        "Prof. Plum and St. Louis and Capt. Kirk agree.",
        "Bring fruit, e.g. Apples, i.e. Red ones, vs. Pears, cf. Oranges.",
        "J. R. R. Tolkien wrote it.",
        "See No. 5 on p. 12 and Fig. 3 today.",
    ],
)
def test_abbreviations_do_not_end_a_sentence(text: str) -> None:
    assert split_sentences(text) == [text]


def test_abbreviation_at_the_end_of_the_text_is_kept() -> None:
    assert split_sentences("I saw Dr.") == ["I saw Dr."]


def test_number_abbreviation_before_a_word_ends_the_sentence() -> None:
    assert split_sentences("I said no. Then I left.") == ["I said no.", "Then I left."]


def test_etc_before_a_capital_ends_the_sentence_but_not_before_lower_case() -> None:
    assert split_sentences("Apples, pears, etc. Then more.") == [
        "Apples, pears, etc.",
        "Then more.",
    ]
    assert split_sentences("Apples, pears, etc. and more.") == ["Apples, pears, etc. and more."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pi is 3.14 roughly. Next.", ["Pi is 3.14 roughly.", "Next."]),
        ("It costs $4.50. Cheap.", ["It costs $4.50.", "Cheap."]),
        ("In 1999. 2000 came next.", ["In 1999.", "2000 came next."]),
        ("Visit example.com today.", ["Visit example.com today."]),
    ],
)
def test_numbers_and_dotted_words(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wait... what?", ["Wait... what?"]),
        ("I thought... Then it hit me.", ["I thought...", "Then it hit me."]),
        ("I thought\u2026 Then it hit me.", ["I thought\u2026", "Then it hit me."]),
        ("...", []),
        ("Hello. ... World.", ["Hello.", "World."]),
    ],
)
def test_ellipses(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Stop!" she cried. He ran.', ['"Stop!" she cried.', "He ran."]),
        ('He said "hi." Then he left.', ['He said "hi."', "Then he left."]),
        ('He left. "Why?" Nobody knew.', ["He left.", '"Why?"', "Nobody knew."]),
        ("\u201cGo.\u201d \u201cNow?\u201d", ["\u201cGo.\u201d", "\u201cNow?\u201d"]),
        ("The end.) Next (one.)", ["The end.)", "Next (one.)"]),
    ],
)
def test_quotes_and_brackets_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_single_newline_is_whitespace_and_blank_line_ends_a_sentence() -> None:
    text = "A hard-wrapped\nline of prose.\n\nA heading\n\n  Next paragraph"
    assert split_sentences(text) == [
        "A hard-wrapped line of prose.",
        "A heading",
        "Next paragraph",
    ]


def test_windows_line_endings() -> None:
    assert split_sentences("One.\r\nTwo.\r\n\r\nThree") == ["One.", "Two.", "Three"]


def test_cjk_punctuation_ends_sentences_without_spaces() -> None:
    text = "\u4f60\u597d\u3002\u4e16\u754c\uff01\u597d\u5417\uff1f\u662f\u7684"
    assert split_sentences(text) == [
        "\u4f60\u597d\u3002",
        "\u4e16\u754c\uff01",
        "\u597d\u5417\uff1f",
        "\u662f\u7684",
    ]


def test_cjk_closing_bracket_stays_with_its_sentence() -> None:
    text = "\u300c\u884c\u304f\u3002\u300d\u5f7c\u306f\u8a00\u3063\u305f\u3002"
    assert split_sentences(text) == [
        "\u300c\u884c\u304f\u3002\u300d",
        "\u5f7c\u306f\u8a00\u3063\u305f\u3002",
    ]


def test_whitespace_inside_a_sentence_is_collapsed() -> None:
    assert split_sentences("Hello \t  big\n world.") == ["Hello big world."]


def test_long_sentence_is_cut_at_clauses_first() -> None:
    clause = "word " * 10
    text = f"{clause.strip()}, {clause.strip()}; {clause.strip()}."
    chunks = split_sentences(text, max_chars=60)
    assert chunks == [f"{clause.strip()},", f"{clause.strip()};", f"{clause.strip()}."]


def test_short_clauses_are_packed_together() -> None:
    chunks = split_sentences("one, two, three; four five six seven eight", max_chars=12)
    assert chunks == ["one, two,", "three;", "four five", "six seven", "eight"]


def test_long_sentence_without_punctuation_is_cut_at_whitespace() -> None:
    words = [f"w{i:03d}" for i in range(200)]
    chunks = split_sentences(" ".join(words), max_chars=50)
    assert all(len(c) <= 50 for c in chunks)
    assert " ".join(chunks).split() == words


def test_unbreakable_text_is_cut_anywhere() -> None:
    assert split_sentences("x" * 25, max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]
    cjk = "\u5b57" * 25
    assert [len(c) for c in split_sentences(cjk, max_chars=10)] == [10, 10, 5]


def test_cjk_commas_are_clause_breaks() -> None:
    text = "\u4e00" * 8 + "\uff0c" + "\u4e8c" * 8 + "\u3002"
    assert split_sentences(text, max_chars=10) == ["\u4e00" * 8 + "\uff0c", "\u4e8c" * 8 + "\u3002"]


@pytest.mark.parametrize("max_chars", [1, 7, 40, 300])
def test_no_chunk_exceeds_max_chars_and_no_letter_is_lost(max_chars: int) -> None:
    text = (
        "Mr. Smith, who lives at No. 5, said: well, maybe; perhaps \u2014 who knows? "
        "Supercalifragilisticexpialidocious is long. " * 5
    )
    chunks = split_sentences(text, max_chars=max_chars)
    assert chunks
    assert all(0 < len(c) <= max_chars for c in chunks)
    assert _alnum("".join(chunks)) == _alnum(text)
    if max_chars >= 40:
        assert "".join("".join(chunks).split()) == "".join(text.split())


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars must be at least 1, got 0"):
        split_sentences("Hi.", max_chars=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  hello   world  ", "hello world"),
        ("tab\tand\nnewline", "tab and newline"),
        ("a\r\nb", "a b"),
        ("para one\n\n\n  para two", "para one\n\npara two"),
        ("para one\r\n\r\npara two", "para one\n\npara two"),
        ("one\u2029two", "one\n\ntwo"),
        ("bell\x07 null\x00 esc\x1b", "bell null esc"),
        ("zero\u200bwidth soft\u00adhyphen \ufeffbom", "zerowidth softhyphen bom"),
        ("no\u00a0break\u3000space", "no break space"),
        ("cafe\u0301", "caf\u00e9"),
        ("\u200d\U0001f468\u200d\U0001f469", "\u200d\U0001f468\u200d\U0001f469"),
        ("", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_normalized_text_keeps_paragraph_sentence_breaks() -> None:
    text = normalize_text("A heading\n\nBody text here")
    assert split_sentences(text) == ["A heading", "Body text here"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith met Mrs. Jones.", "Dr Smith met Mrs Jones."),
        ("J. R. R. Tolkien", "J R R Tolkien"),
        ('Ask Mr. "Big" now', 'Ask Mr "Big" now'),
        ("Ask Prof. about it.", "Ask Prof. about it."),
        ("It ends here. Then more.", "It ends here. Then more."),
        ("In the U.S. Then", "In the U.S. Then"),
        ("e.g. Paris", "e.g. Paris"),
    ],
)
def test_drop_abbreviation_periods(text: str, expected: str) -> None:
    assert drop_abbreviation_periods(text) == expected
