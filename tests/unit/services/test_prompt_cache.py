from datetime import UTC, datetime, timedelta

from voxclone.services.prompt_cache import PromptCache, approx_size

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_changed_voice_or_engine_version_misses() -> None:
    cache = PromptCache()
    cache.put(("v1", T0, "gpu", "provider:1"), {"p": 1})
    assert cache.get(("v1", T0, "gpu", "provider:1")) == {"p": 1}
    assert cache.get(("v1", T0 + timedelta(microseconds=1), "gpu", "provider:1")) is None
    assert cache.get(("v1", T0, "gpu", "provider:2")) is None
    assert cache.get(("v1", T0, "other", "provider:1")) is None


def test_bounded_by_entries_least_recently_used_first() -> None:
    cache = PromptCache(max_entries=2)
    cache.put(("a", T0, "e", "1"), {})
    cache.put(("b", T0, "e", "1"), {})
    assert cache.get(("a", T0, "e", "1")) == {}  # a is now the most recent
    cache.put(("c", T0, "e", "1"), {})
    assert cache.get(("b", T0, "e", "1")) is None
    assert len(cache) == 2


def test_bounded_by_bytes() -> None:
    cache = PromptCache(max_bytes=4000)
    big = {"reference_wav": "x" * 900}
    for name in "abcdef":
        cache.put((name, T0, "e", "1"), big)
    assert len(cache) == 4
    cache.put(("huge", T0, "e", "1"), {"reference_wav": "x" * 2000})  # > a quarter: not kept
    assert cache.get(("huge", T0, "e", "1")) is None


def test_approx_size() -> None:
    assert approx_size({"a": "xyz", "b": [1, 2.5, None]}) == 1 + 5 + 1 + (8 * 3 + 2) + 2
