"""Voice mixes, as Kokoro-FastAPI writes them: ``af_bella+af_sky`` (equal parts) or
``af_bella(2)+af_sky(1)`` (relative weights). Parsing only; ``stock_voices`` resolves the names.

Weights are positive finite numbers; a component without one weighs 1. A name given twice adds
its weights. ``canonical`` writes a mix one way only (names sorted, weights normalised to sum 1
and rounded to three decimals), so that equal mixes share an id and a cache key.
"""

from __future__ import annotations

import math
import re

from voxclone.core.errors import InvalidVoiceMix

MAX_COMPONENTS = 8
_COMPONENT = re.compile(r"^\s*(?P<name>[^()+\s][^()+]*?)\s*(?:\((?P<weight>[^()]*)\))?\s*$")
_PRECISION = 3


def is_mix(ref: str) -> bool:
    """Whether ``ref`` is written as a mix (has a ``+`` or a weight in parentheses)."""
    return "+" in ref or "(" in ref or ")" in ref


def parse_mix(ref: str) -> dict[str, float]:
    """``{name: weight}`` of a mix expression, weights as written (not normalised).

    Raises ``InvalidVoiceMix`` (422) naming the component or weight that is wrong.
    """
    parts = ref.split("+")
    if len(parts) > MAX_COMPONENTS:
        raise InvalidVoiceMix(
            f"voice mix {ref!r} has {len(parts)} voices; at most {MAX_COMPONENTS} can be mixed",
            voice=ref,
        )
    weights: dict[str, float] = {}
    for part in parts:
        found = _COMPONENT.match(part)
        if found is None:
            raise InvalidVoiceMix(
                f"voice mix {ref!r}: {part.strip()!r} is not a voice name with an optional "
                "weight in parentheses, as in af_bella(2)+af_sky(1)",
                voice=ref,
                component=part.strip(),
            )
        name = found["name"]
        weight = _weight(ref, name, found["weight"])
        weights[name] = weights.get(name, 0.0) + weight
    return weights


def normalised(weights: dict[str, float]) -> dict[str, float]:
    """The weights scaled to sum 1, rounded to three decimals, names sorted."""
    total = sum(weights.values())
    return {name: round(weights[name] / total, _PRECISION) for name in sorted(weights)}


def canonical(weights: dict[str, float]) -> str:
    """The one way to write a normalised mix: ``af_bella(0.667)+af_sky(0.333)``."""
    return "+".join(f"{name}({_number(weight)})" for name, weight in weights.items())


def _weight(ref: str, name: str, text: str | None) -> float:
    if text is None:
        return 1.0
    try:
        weight = float(text.strip())
    except ValueError:
        weight = math.nan
    if not (math.isfinite(weight) and weight > 0):
        raise InvalidVoiceMix(
            f"voice mix {ref!r}: the weight of {name!r} is {text.strip()!r}; weights are "
            "positive numbers, as in af_bella(2)+af_sky(1)",
            voice=ref,
            component=name,
            weight=text.strip(),
        )
    return weight


def _number(value: float) -> str:
    return f"{value:.{_PRECISION}f}".rstrip("0").rstrip(".")
