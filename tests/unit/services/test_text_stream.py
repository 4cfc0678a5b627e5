"""SentenceBuffer: text written a piece at a time, handed back a whole sentence at a time."""

from __future__ import annotations

from voxclone.services.text_stream import SentenceBuffer


def test_a_sentence_is_handed_back_once_the_next_has_begun() -> None:
    buffer = SentenceBuffer()
    assert buffer.add("Hello there, this is") == []
    assert buffer.add(" the first sentence.") == []  # it may go on ("... sentence. and")
    assert buffer.add(" And the") == ["Hello there, this is the first sentence."]
    assert buffer.add(" second one! Third") == ["And the second one!"]
    assert buffer.drain() == ["Third"]
    assert len(buffer) == 0 and buffer.drain() == []


def test_words_sent_in_pieces_stay_apart_and_abbreviations_wait() -> None:
    buffer = SentenceBuffer()
    assert buffer.add("We met Dr.") == []
    assert buffer.add(" Smith. ") == []  # "Dr." did not end a sentence
    assert buffer.add("Then ") == ["We met Dr. Smith."]
    assert buffer.add("we   left") == []
    assert buffer.drain() == ["Then we left"]


def test_a_paragraph_break_ends_a_sentence_and_punctuation_alone_is_dropped() -> None:
    buffer = SentenceBuffer()
    assert buffer.add("A heading\n\n") == []
    assert buffer.add("Body text. ... ") == ["A heading"]
    assert buffer.drain() == ["Body text."]
