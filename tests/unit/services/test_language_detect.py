"""language="auto": the text's language among the engine's, else the voice's own."""

from __future__ import annotations

import pytest

from voxclone.services.language_detect import detect_language, primary

KOKORO = ["en", "en-us", "en-gb", "es", "fr", "hi", "it", "ja", "pt", "pt-br", "zh"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hola, ¿cómo estás? Hoy hace muy buen tiempo en la ciudad.", "es"),
        ("Bonjour tout le monde, comment allez-vous aujourd'hui ?", "fr"),
        ("Ciao, come stai oggi? Andiamo a mangiare una pizza.", "it"),
        ("Olá, tudo bem? Hoje o dia está muito bonito.", "pt"),
        ("こんにちは、お元気ですか？", "ja"),
        ("你好，今天天气很好。", "zh"),
        ("नमस्ते, आप कैसे हैं?", "hi"),
        ("The quick brown fox jumps over the lazy dog.", "en-us"),
    ],
)
def test_the_texts_language_is_found(text: str, found: str) -> None:
    assert detect_language(text, languages=KOKORO, default="en-us") == found


def test_the_voices_own_tag_is_kept_for_its_language() -> None:
    text = "Shall we have a cup of tea this afternoon?"
    assert detect_language(text, languages=KOKORO, default="en-gb") == "en-gb"


def test_too_little_to_tell_keeps_the_voices_language() -> None:
    assert detect_language("OK", languages=KOKORO, default="es") == "es"
    assert detect_language("12345", languages=KOKORO, default="fr") == "fr"


def test_a_one_language_engine_keeps_the_voices_language() -> None:
    assert detect_language("Hola, ¿cómo estás?", languages=["en"], default="en") == "en"


def test_languages_langid_does_not_know_are_left_out() -> None:
    assert (
        detect_language("Hola, ¿cómo estás hoy?", languages=["es", "xx-yy"], default="xx") == "es"
    )


def test_primary_tags() -> None:
    assert primary("en_US") == primary("EN-us") == primary("en") == "en"
