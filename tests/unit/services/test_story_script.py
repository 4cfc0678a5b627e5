"""Scripts: speakers, paragraphs, stage directions as pauses; the flow layout."""

from __future__ import annotations

import pytest

from voxclone.core.errors import Unprocessable
from voxclone.services.story_checks import cast_of
from voxclone.services.story_script import (
    ScriptLine,
    ScriptPause,
    Timing,
    lay_out,
    parse_script,
    pause_seconds,
    reflow,
)

SCRIPT = """NARRATOR: It was late.
The rain had stopped.

ALICE: Hello? [laughs] Is anyone there?
[pause 2s]
BOB: Only me.
"""


def test_a_script_becomes_lines_and_pauses_in_order() -> None:
    items = parse_script(SCRIPT, default_pause_s=1.0)
    assert items == [
        ScriptLine("NARRATOR", "It was late. The rain had stopped."),
        ScriptLine("ALICE", "Hello?"),
        ScriptPause(1.0),
        ScriptLine("ALICE", "Is anyone there?"),
        ScriptPause(2.0),
        ScriptLine("BOB", "Only me."),
    ]


@pytest.mark.parametrize(
    ("direction", "seconds"),
    [("pause 2s", 2.0), ("pause 1.5 seconds", 1.5), ("500ms", 0.5), ("laughs", 0.7), ("3", 3.0)],
)
def test_a_direction_pauses_its_number_of_seconds_or_the_default(
    direction: str, seconds: float
) -> None:
    assert pause_seconds(direction, default_s=0.7) == pytest.approx(seconds)


def test_lines_are_laid_out_with_the_gap_and_the_pauses_before_them() -> None:
    laid = lay_out(parse_script(SCRIPT, default_pause_s=1.0), gap_s=0.4)
    assert [line.flow_gap_s for line in laid] == pytest.approx([0.0, 0.4, 1.4, 2.4])


def test_text_without_a_speaker_is_refused_naming_the_paragraph() -> None:
    with pytest.raises(Unprocessable, match="paragraph 1 has no speaker"):
        parse_script("Once upon a time.\n\nBOB: hi", default_pause_s=1.0)


def test_unknown_speakers_are_listed_together() -> None:
    with pytest.raises(Unprocessable) as caught:
        cast_of(["ALICE", "BOB", "CAROL", "BOB"], {"alice": "v1"})
    assert caught.value.details["unknown"] == ["BOB", "CAROL"]
    assert cast_of(["ALICE"], {"alice": "v1"}) == {"ALICE": "v1"}


def test_reflow_chains_flowing_clips_and_leaves_pinned_ones() -> None:
    timings = [
        Timing("a", start_s=0.0, length_s=2.0, flow_gap_s=0.0),
        Timing("bed", start_s=0.0, length_s=60.0, flow_gap_s=None),
        Timing("b", start_s=2.4, length_s=3.0, flow_gap_s=0.4),
        Timing("c", start_s=5.8, length_s=1.0, flow_gap_s=1.4),
    ]
    assert reflow(timings) == {"a": 0.0, "b": 2.4, "c": 6.8}


def test_a_script_after_a_placed_intro_flows_on_from_the_intro() -> None:
    timings = [
        Timing("intro", start_s=0.0, length_s=5.0, flow_gap_s=None),
        Timing("a", start_s=5.4, length_s=2.0, flow_gap_s=0.4),
        Timing("b", start_s=7.8, length_s=1.0, flow_gap_s=0.4),
    ]
    assert reflow(timings) == {"a": 5.4, "b": 7.8}
