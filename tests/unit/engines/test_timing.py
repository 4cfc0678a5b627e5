"""Alignments, and how timed phonemes become the timing of the text's characters and words."""

from __future__ import annotations

import numpy as np
import pytest

from voxclone.audio import concat_with_crossfade
from voxclone.core.types import Audio
from voxclone.engines.alignment import Alignment, words_of
from voxclone.engines.kokoro_timing import FRAME_SAMPLES, LEAD_S, add_durations_output, piece_phones
from voxclone.engines.timing import (
    Phone,
    chunk_alignment,
    count_words,
    phone_words,
    trim_to_sound,
    word_counts,
)
from voxclone.services.synthesis.timed import joined_offsets, whole_file


def phones_of(phonemes: str, seconds_each: float = 0.1, start: float = 0.0) -> list[Phone]:
    """Every symbol of ``phonemes`` for ``seconds_each``, spaces for none."""
    phones, at = [], start
    for symbol in phonemes:
        length = 0.0 if symbol == " " else seconds_each
        phones.append(Phone(symbol, at, at + length))
        at += length
    return phones


def monotonic(alignment: Alignment) -> bool:
    s, e = alignment.starts, alignment.ends
    return (
        list(s) == sorted(s)
        and list(e) == sorted(e)
        and all(a <= b for a, b in zip(s, e, strict=True))
    )


def test_alignment_needs_one_time_per_character() -> None:
    with pytest.raises(ValueError, match="one start and end per character"):
        Alignment(("a", "b"), (0.0,), (0.1, 0.2))


def test_shift_clamp_split_and_elevenlabs_shape() -> None:
    a = Alignment.of("ab cd", [0, 0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert a.shifted(1.0).starts == (1.0, 1.1, 1.2, 1.3, 1.4)
    assert a.clamped(0.15, 0.35).ends == (0.15, 0.2, 0.3, 0.35, 0.35)
    left, right = a.split_at([0.25])
    assert (left.text, right.text) == ("ab", " cd")  # the space goes with the run after
    assert a.to_elevenlabs() == {
        "characters": ["a", "b", " ", "c", "d"],
        "character_start_times_seconds": [0.0, 0.1, 0.2, 0.3, 0.4],
        "character_end_times_seconds": [0.1, 0.2, 0.3, 0.4, 0.5],
    }
    assert Alignment.joined([left, right]) == a


def test_onto_the_original_text() -> None:
    spoken = Alignment.of(
        "Hi there. Bye", [i / 10 for i in range(13)], [i / 10 + 0.1 for i in range(13)]
    )
    original = "  Hi   there.\n\nBye\u200b"
    moved = spoken.onto(original)
    assert moved.text == original and monotonic(moved)
    assert moved.starts[original.index("t")] == spoken.starts[spoken.text.index("t")]
    assert moved.starts[original.index("B")] == spoken.starts[spoken.text.index("B")]
    assert moved.ends[-1] == spoken.end_s
    assert spoken.onto(spoken.text) is spoken


def test_words_skip_punctuation_and_time_their_letters() -> None:
    a = Alignment.of(
        '"Go" — now!',
        [0, 0, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6],
        [0, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9],
    )
    words = words_of(a)
    assert [(w.word, w.start_s, w.end_s) for w in words] == [('"Go"', 0.0, 0.2), ("now!", 0.3, 0.6)]


def test_phone_words_and_counts() -> None:
    groups = phone_words(phones_of("ðə kwˈɪk, — dˈɑːɡ."))
    assert [count for _, _, count in groups] == [2, 4, 4]
    assert count_words("twˈɛnti fˈaɪv") == 2 and count_words(", .") == 0
    table = {"25": "twˈɛnti fˈaɪv", "cats.": "kˈæts."}
    assert word_counts("25 — cats.", table.__getitem__) == [2, 0, 1]


def test_each_word_gets_its_own_phoneme_words() -> None:
    text = "I owe 25, ok."
    phonemes = "aɪ oʊ twɛnti faɪv, oʊkeɪ."
    phones = phones_of(phonemes)
    alignment = chunk_alignment(text, phones, counts=[1, 1, 2, 1], duration_s=3.0)
    assert alignment.text == text and monotonic(alignment)
    words = {w.word: (w.start_s, w.end_s) for w in words_of(alignment)}
    groups = phone_words(phones)
    assert words["25,"] == (round(groups[2][0], 3), round(groups[3][1], 3))
    assert words["ok."] == (round(groups[4][0], 3), round(groups[4][1], 3))
    assert alignment.ends[-1] == 3.0  # the final full stop lasts to the end of the chunk
    assert alignment.starts[0] == words["I"][0]


def test_counts_that_do_not_add_up_share_by_length() -> None:
    text = "Hello big world"
    phones = phones_of("hɛloʊbɪɡwɜːld")  # no spaces: one phoneme word for three words
    alignment = chunk_alignment(text, phones, counts=[1, 1, 1], duration_s=1.5)
    words = words_of(alignment)
    assert [w.word for w in words] == ["Hello", "big", "world"] and monotonic(alignment)
    assert words[0].start_s == 0.0 and words[-1].end_s == pytest.approx(1.3, abs=0.01)
    lengths = [w.end_s - w.start_s for w in words]
    assert lengths[0] > lengths[1] < lengths[2]


def test_lead_space_spans_the_silence_before_the_first_word() -> None:
    alignment = chunk_alignment(
        "Hi.", phones_of("haɪ.", start=0.2), counts=[1], duration_s=0.8, lead=" "
    )
    assert alignment.text == " Hi."
    assert (alignment.starts[0], alignment.ends[0]) == (0.0, 0.2)
    assert alignment.starts[1] == 0.2 and alignment.ends[-1] == 0.8


def test_no_sound_at_all_still_aligns_every_character() -> None:
    alignment = chunk_alignment("Hm, ok", [], counts=None, duration_s=0.5)
    assert alignment.text == "Hm, ok" and monotonic(alignment)


def test_piece_phones_from_kokoro_frames() -> None:
    rate = 24000
    durations = np.array([[4, 2, 3, 5]])  # pad, two phonemes, pad
    phones = piece_phones(
        ["h", "i"], durations, trim_start=1200, length=6000, offset_s=1.0, rate=rate
    )
    lead = round(LEAD_S * rate)
    first = (4 * FRAME_SAMPLES - 1200 - lead) / rate
    assert phones[0] == Phone("h", 1.0 + first, 1.0 + first + 2 * FRAME_SAMPLES / rate)
    assert phones[1].end_s == 1.0 + (9 * FRAME_SAMPLES - 1200 - lead) / rate
    assert phones[-1] == Phone(" ", 1.25, 1.25)
    with pytest.raises(ValueError, match="durations"):
        piece_phones(["h"], durations, trim_start=0, length=100, offset_s=0, rate=rate)


def test_durations_output_is_added_to_a_kokoro_like_graph() -> None:
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Relu", ["x"], ["logits"]),
        helper.make_node("Div", ["logits", "speed"], ["scaled"]),
        helper.make_node("Round", ["scaled"], ["rounded"]),
        helper.make_node("Clip", ["rounded", "one"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["frames"], to=TensorProto.INT64),
        helper.make_node("Identity", ["frames"], ["audio"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3]),
            helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("audio", TensorProto.INT64, [1, 3])],
        [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )
    assert add_durations_output(graph)
    assert [o.name for o in graph.output] == ["audio", "durations"]
    assert not add_durations_output(graph)  # already there
    bare = helper.make_graph(nodes[:1], "h", graph.input[:1], [graph.output[0]])
    assert not add_durations_output(bare)


@pytest.mark.parametrize("sizes", [[1000, 2000, 1500], [1000, 100, 2000], [0, 800, 0, 900], [5000]])
def test_offsets_match_the_crossfaded_join(sizes: list[int]) -> None:
    rate = 24000
    chunks = [Audio(np.ones(n, dtype=np.float32), rate) for n in sizes]
    offsets = joined_offsets(sizes, rate)
    joined = concat_with_crossfade(chunks)
    last = max(i for i, n in enumerate(sizes) if n)
    assert round(offsets[last] * rate) + sizes[last] == joined.samples.size


def test_a_chunk_inside_a_seam_keeps_the_times_from_going_back() -> None:
    rate = 24000
    sizes = [1000, 100, 2000]  # the 100-sample chunk lies inside the 10 ms seam
    chunks = [
        (Audio(np.ones(n, dtype=np.float32), rate), Alignment.of(t, [0.0], [n / rate]))
        for n, t in zip(sizes, "abc", strict=True)
    ]
    _, alignment = whole_file(chunks)
    assert monotonic(alignment) and alignment.text == "abc"


def test_whole_file_shifts_each_chunk_and_ends_within_the_audio() -> None:
    rate = 1000
    first = (Audio(np.ones(500, dtype=np.float32), rate), Alignment.of("ab", [0, 0.2], [0.2, 0.5]))
    second = (Audio(np.ones(400, dtype=np.float32), rate), Alignment.of(" c", [0, 0.1], [0.1, 0.4]))
    audio, alignment = whole_file([first, second])
    assert alignment.text == "ab c" and audio.samples.size == 890
    assert alignment.starts == (0.0, 0.2, 0.49, 0.59) and alignment.ends[-1] == 0.89


def test_characters_of_a_script_without_spaces_share_the_sounds() -> None:
    phones = [Phone("n", 0, 0.1), Phone("i", 0.1, 0.2), Phone(" ", 0.2, 0.2)]
    phones += [Phone("h", 0.3, 0.4), Phone("a", 0.4, 0.5)]
    alignment = chunk_alignment("你好，今天。", phones, counts=[1], duration_s=1.0)
    assert alignment.starts == (0.0, 0.1, 0.3, 0.3, 0.4, 0.5)
    assert alignment.ends == (0.1, 0.2, 0.3, 0.4, 0.5, 1.0)
    assert [w.word for w in words_of(alignment)] == [
        "你好，今天。"
    ]  # words are whitespace-separated


def test_a_word_ends_where_its_sound_does() -> None:
    rate = 1000
    samples = np.zeros(1000, dtype=np.float32)
    samples[100:250] = 0.5  # "ok" is heard from 0.1 to 0.25 s, then silence (the comma's pause)
    samples[600:800] = 0.5
    phones = [Phone("o", 0.1, 0.2), Phone("k", 0.2, 0.5), Phone(",", 0.5, 0.55)]
    phones += [Phone(" ", 0.55, 0.55), Phone("ˈ", 0.6, 0.62), Phone("j", 0.62, 0.7)]
    phones += [Phone("ɛ", 0.7, 0.95), Phone(".", 0.95, 1.0)]
    trimmed = trim_to_sound(phones, samples, rate)
    assert trimmed[1] == Phone("k", 0.2, 0.26)  # 10 ms after its last loud frame
    assert trimmed[6] == Phone("ɛ", 0.7, 0.81)
    assert trimmed[:1] + trimmed[2:6] == phones[:1] + phones[2:6]  # only word-final sounds
    silent = trim_to_sound(phones, np.zeros(1000, dtype=np.float32), rate)
    assert silent == phones  # no sound at all: nothing to go by
