"""Kokoro-FastAPI voice mixes: parsing, normalising, and the one way each mix is written."""

from __future__ import annotations

import pytest

from voxclone.core.errors import InvalidVoiceMix
from voxclone.services.voice_mix import canonical, is_mix, normalised, parse_mix


@pytest.mark.parametrize(
    ("text", "weights"),
    [
        ("af_bella+af_sky", {"af_bella": 1.0, "af_sky": 1.0}),
        ("af_bella(2)+af_sky(1)", {"af_bella": 2.0, "af_sky": 1.0}),
        (" af_bella ( 0.5 ) + af_sky ", {"af_bella": 0.5, "af_sky": 1.0}),
        ("af_bella(1)+af_bella(2)+af_sky", {"af_bella": 3.0, "af_sky": 1.0}),
        ("af_bella(1e-1)", {"af_bella": 0.1}),
        ("local:af_bella+local:af_sky", {"local:af_bella": 1.0, "local:af_sky": 1.0}),
    ],
)
def test_mixes_parse(text: str, weights: dict[str, float]) -> None:
    assert is_mix(text)
    assert parse_mix(text) == weights


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("af_bella(x)+af_sky", {"component": "af_bella", "weight": "x"}),
        ("af_bella(0)+af_sky", {"weight": "0"}),
        ("af_bella(-2)+af_sky", {"weight": "-2"}),
        ("af_bella(inf)+af_sky", {"weight": "inf"}),
        ("af_bella(nan)", {"weight": "nan"}),
        ("af_bella()+af_sky", {"weight": ""}),
        ("af_bella++af_sky", {"component": ""}),
        ("+af_sky", {"component": ""}),
        ("af_bella(2", {"component": "af_bella(2"}),
        ("af_bella(2)(3)", {"component": "af_bella(2)(3)"}),
        ("(2)", {"component": "(2)"}),
    ],
)
def test_malformed_mixes_name_what_is_wrong(text: str, wrong: dict[str, str]) -> None:
    with pytest.raises(InvalidVoiceMix) as caught:
        parse_mix(text)
    assert wrong.items() <= caught.value.details.items(), caught.value.details
    assert caught.value.details["voice"] == text
    assert "af_bella(2)+af_sky(1)" in caught.value.message  # shows how it is written


def test_too_many_voices_are_refused() -> None:
    with pytest.raises(InvalidVoiceMix, match="at most 8"):
        parse_mix("+".join(f"v{i}" for i in range(9)))


def test_the_canonical_form_is_sorted_normalised_and_rounded() -> None:
    one = normalised(parse_mix("af_sky(1)+af_bella(2)"))
    two = normalised(parse_mix("af_bella(4)+af_sky(2)"))
    assert one == two == {"af_bella": 0.667, "af_sky": 0.333}
    assert canonical(one) == "af_bella(0.667)+af_sky(0.333)"
    assert canonical(normalised({"a": 1.0, "b": 1.0})) == "a(0.5)+b(0.5)"
    assert canonical(normalised({"b": 3.0, "a": 1.0})) == "a(0.25)+b(0.75)"


def test_plain_names_are_not_mixes() -> None:
    assert not is_mix("af_heart")
    assert not is_mix("en_US-joe-medium")
