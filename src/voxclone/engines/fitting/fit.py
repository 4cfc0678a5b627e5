"""Fitting Kokoro to a reference speaker: the ``kokoro-fit`` recipe.

The recipe is ``{"kind": "kokoro-fit", "version": 1, "blend": {stock voice: weight},
"post": {...}}``: a style made of stock packs (``post.style_from_recipe``) and the cheap WORLD
post-processing of ``post.apply_post``. The fit, scored throughout by the cosine between
Resemblyzer embeddings of candidate speech and of the reference's speech:

1. analyse the reference (``reference.analyse_reference``: trimmed speech, checks, median-gated
   pitch, long-term spectrum with the noise floor removed);
2. rank the stock voices by the embeddings of their renders of the fitting sentences
   (precomputed once, ``table.cached_table``) and keep the nearest few;
3. for each, set the pitch level and range from the two voices' statistics, and search the
   formant warp on a grid; at each grid point the equaliser is the difference between the
   reference's long-term spectrum and the candidate's (after the warp), capped at ``EQ_CAP_DB``;
   then try the winner's pitch level up to a semitone higher and lower;
4. if time is left, try blends of the best two voices with the winner's post-processing,
   rendering them on the fitting sentences, and keep a blend only if it scores higher.

Every score is over all fitting sentences together, so one sentence cannot be over-fitted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxclone.audio.resample import resample
from voxclone.core.errors import EngineError
from voxclone.core.types import Audio, FloatArray
from voxclone.engines.fitting import post as world
from voxclone.engines.fitting.reference import (
    BAND_HZ,
    Embed,
    ReferenceAnalysis,
    analyse_reference,
    long_term_spectrum,
    pitch_stats,
)
from voxclone.engines.fitting.table import (
    RATE,
    Progress,
    Render,
    StockTable,
    build_table,
    cached_table,
    sentences_for,
)

RECIPE_KIND = "kokoro-fit"
RECIPE_VERSION = 1
CANDIDATES = 3
FORMANT_GRID = (0.9, 0.95, 1.0, 1.05, 1.1)
EQ_CAP_DB = 12.0
MAX_SHIFT_ST = 9.0
"""Largest pitch change (semitones) the post-processing may make."""
SHIFT_LIMITS = (2 ** (-MAX_SHIFT_ST / 12), 2 ** (MAX_SHIFT_ST / 12))
RANGE_LIMITS = (0.6, 1.6)
PITCH_STEPS_ST = (-1.0, -0.5, 0.5, 1.0)
"""Pitch offsets (semitones) from the statistics' level tried after the formant search."""
BLEND_WEIGHTS = (0.75, 0.5)
MIN_VOICED_SHARE = 0.35
"""Stock voices whose fitting renders are voiced less than this whisper (af_nicole: 0.21;
all others 0.44 and up)."""


@dataclass(frozen=True)
class Candidate:
    blend: dict[str, float]
    post: dict[str, Any]
    score: float


def fit_voice(
    reference: Audio,
    *,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    lang: str = "en",
    progress: Progress | None = None,
    budget_s: float = 45.0,
    cache_dir: Path | None = None,
    table: StockTable | None = None,
) -> dict[str, Any]:
    """The ``kokoro-fit`` recipe for the speaker of ``reference``.

    ``render(text, style, lang)`` speaks with a [510, 1, 256] style; ``stock`` maps stock voice
    names to their packs; ``embed`` is a speaker encoder. The stock-voice table is taken from
    ``table``, else from ``cache_dir`` (built there on first use: minutes), else built now.
    ``budget_s`` bounds the search after the table is ready; the first steps always run.
    Raises ``UnusableReference`` when the clip is silence, noise, music or several voices.
    """
    report = progress or (lambda _fraction: None)
    table = _table(table, cache_dir, render=render, stock=stock, embed=embed, lang=lang)
    started = time.monotonic()
    analysis = analyse_reference(reference, embed=embed)
    target = embed(analysis.speech)
    report(0.1)

    ranked = [table.names[i] for i in np.argsort(-(table.embeddings @ target))]
    tried: list[Candidate] = []
    for name in ranked:
        if len(tried) == CANDIDATES or (tried and _elapsed(started) > budget_s * 0.6):
            break
        found = _fit_post(analysis, table, name, target, embed)
        if found is not None:
            tried.append(found)
            report(0.1 + 0.6 * len(tried) / CANDIDATES)
    if not tried:  # every voice whispers: cannot happen with Kokoro's stock voices
        raise EngineError("no stock voice could be fitted to the reference", backend="local")
    best = max(tried, key=lambda c: c.score)

    leader = next(iter(best.blend))
    runners_up = sorted((c for c in tried if c is not best), key=lambda c: -c.score)
    others = [next(iter(c.blend)) for c in runners_up]
    cost = 0.0
    for weight in BLEND_WEIGHTS if others else ():
        if _elapsed(started) + cost > budget_s:
            break
        blend = {leader: weight, others[0]: round(1.0 - weight, 3)}
        clock = time.monotonic()
        found = _fit_blend(
            analysis, blend, best.post["formant"], render, stock, embed, target, lang
        )
        cost = time.monotonic() - clock
        if found.score > best.score:
            best = found
        report(0.9)
    report(1.0)
    return {
        "kind": RECIPE_KIND,
        "version": RECIPE_VERSION,
        "blend": best.blend,
        "post": best.post,
        "fit": {
            "score": round(best.score, 4),
            "reference_f0_hz": round(analysis.pitch.median_hz, 1),
            "speech_s": round(analysis.speech_s, 2),
            "seconds": round(_elapsed(started), 1),
        },
    }


def nearest_voice(
    reference: Audio,
    *,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    lang: str = "en",
    cache_dir: Path | None = None,
    table: StockTable | None = None,
) -> dict[str, Any]:
    """A quick ``kokoro-fit`` recipe: the stock voice nearest to the speaker, moved to the
    speaker's pitch level and range, with no search (about a second once the table is ready,
    against up to ``budget_s`` for ``fit_voice``). What a one-shot request speaks with while
    the full fit runs in the background. Raises ``UnusableReference`` as ``fit_voice`` does.
    """
    table = _table(table, cache_dir, render=render, stock=stock, embed=embed, lang=lang)
    started = time.monotonic()
    analysis = analyse_reference(reference, embed=embed)
    target = embed(analysis.speech)
    ranked = np.argsort(-(table.embeddings @ target))
    voiced = [int(i) for i in ranked if table.pitch_hz[i] > 0]  # not a whispering voice
    best = voiced[0] if voiced else int(ranked[0])
    return {
        "kind": RECIPE_KIND,
        "version": RECIPE_VERSION,
        "blend": {table.names[best]: 1.0},
        "post": base_post(analysis, float(table.pitch_hz[best]), float(table.spread_st[best])),
        "fit": {
            "score": round(float(table.embeddings[best] @ target), 4),
            "reference_f0_hz": round(analysis.pitch.median_hz, 1),
            "speech_s": round(analysis.speech_s, 2),
            "seconds": round(_elapsed(started), 1),
            "quick": True,
        },
    }


def _table(
    table: StockTable | None,
    cache_dir: Path | None,
    *,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    lang: str,
) -> StockTable:
    if table is not None:
        return table
    if cache_dir is not None:
        return cached_table(cache_dir, render=render, stock=stock, embed=embed, lang=lang)
    return build_table(render=render, stock=stock, embed=embed, lang=lang)


def base_post(analysis: ReferenceAnalysis, pitch_hz: float, spread_st: float) -> dict[str, Any]:
    """Pitch level and range that move a voice with these statistics to the reference's."""
    post: dict[str, Any] = {"f0_ratio": 1.0, "f0_range": 1.0, "formant": 1.0}
    have, want = pitch_hz, analysis.pitch.median_hz
    if have > 0 and want > 0:
        shift = float(np.clip(12 * np.log2(want / have), -MAX_SHIFT_ST, MAX_SHIFT_ST))
        post["f0_ratio"] = round(2 ** (shift / 12), 4)
    spread = spread_st
    if spread > 0.3 and analysis.pitch.spread_st > 0:
        ratio = float(np.clip(analysis.pitch.spread_st / spread, *RANGE_LIMITS))
        post["f0_range"] = round(ratio, 3)
    return post


def equaliser(analysis: ReferenceAnalysis, clips: list[Audio]) -> dict[str, Any]:
    """EQ bands that bring ``clips``' long-term spectrum to the reference's, capped."""
    have = long_term_spectrum(Audio.concatenate(clips))
    gap = analysis.spectrum_db - have
    gains = np.clip(gap - gap.mean(), -EQ_CAP_DB, EQ_CAP_DB)
    return {
        "eq_hz": [round(float(f), 1) for f in BAND_HZ],
        "eq_db": [round(float(g), 2) for g in gains],
    }


def _fit_post(
    analysis: ReferenceAnalysis,
    table: StockTable,
    name: str,
    target: FloatArray,
    embed: Embed,
) -> Candidate | None:
    """The best formant warp (with its equaliser) for stock voice ``name``.

    None for a whispering voice (af_nicole): with too few voiced frames there is no pitch to
    move, and what WORLD makes of it sounds rough (DNSMOS 2.1 against 3.4 for the others).
    """
    i = table.index(name)
    features = [world.analyse(clip) for clip in table.renders[name]]
    if np.mean([f.voiced_share for f in features]) < MIN_VOICED_SHARE:
        return None
    start = base_post(analysis, float(table.pitch_hz[i]), float(table.spread_st[i]))
    return _search(analysis, features, start, FORMANT_GRID, {name: 1.0}, target, embed)


def _search(
    analysis: ReferenceAnalysis,
    features: list[world.WorldFeatures],
    start: dict[str, Any],
    formants: tuple[float, ...],
    blend: dict[str, float],
    target: FloatArray,
    embed: Embed,
) -> Candidate:
    """Score the analysed clips through each formant warp, the equaliser fitted after it; then
    nudge the winner's pitch level by ``PITCH_STEPS_ST``.

    The level from the pitch statistics is a good start but not the encoder's optimum: a
    semitone moves Resemblyzer's similarity by up to 0.15, and the median F0 of a short
    reference is uncertain by about that much.
    """

    def score(post: dict[str, Any]) -> float:
        heard = [world.resynthesize(f, post) for f in features]
        return float(embed(Audio.concatenate(heard)) @ target)

    best: Candidate | None = None
    for formant in formants:
        post = {**start, "formant": formant}
        plain = [world.resynthesize(f, post) for f in features]
        post.update(equaliser(analysis, plain))
        found = Candidate(blend, post, score(post))
        if best is None or found.score > best.score:
            best = found
    assert best is not None
    level = best.post["f0_ratio"]
    for step in PITCH_STEPS_ST:
        ratio = float(np.clip(level * 2 ** (step / 12), *SHIFT_LIMITS))
        post = {**best.post, "f0_ratio": round(ratio, 4)}
        found = Candidate(blend, post, score(post))
        if found.score > best.score:
            best = found
    return best


def _fit_blend(
    analysis: ReferenceAnalysis,
    blend: dict[str, float],
    formant: float,
    render: Render,
    stock: Mapping[str, FloatArray],
    embed: Embed,
    target: FloatArray,
    lang: str,
) -> Candidate:
    """Render ``blend`` on the fitting sentences and fit its pitch and equaliser."""
    style = world.style_from_recipe({"blend": blend}, stock)
    clips = [resample(render(s, style, lang), RATE) for s in sentences_for(lang)]
    stats = pitch_stats(Audio.concatenate(clips))
    start = base_post(analysis, stats.median_hz, stats.spread_st)
    features = [world.analyse(clip) for clip in clips]
    return _search(analysis, features, start, (formant,), blend, target, embed)


def _elapsed(started: float) -> float:
    return time.monotonic() - started
