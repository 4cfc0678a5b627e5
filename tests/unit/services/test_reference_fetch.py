"""reference_audio_url: fetched through the SSRF guard, capped, checked to be audio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import tone_wav
from tests.receiver import Receiver

from voxclone.core.errors import AudioTooLarge, InvalidAudio, UrlFetchFailed, UrlNotAllowed
from voxclone.services.outbound_http import UrlGuard
from voxclone.services.reference_fetch import MAX_REDIRECTS, ReferenceFetcher

WAV = tone_wav(1.0)
FIELD = "reference_audio_url"


@pytest.fixture
def base() -> Iterator[str]:
    receiver = Receiver(files={"ref.wav": WAV, "notes.txt": b"just some text\n" * 100})
    with receiver.serve() as url:
        yield url


def fetcher(*, allow_private: bool = True) -> ReferenceFetcher:
    return ReferenceFetcher(guard=UrlGuard(allow_private=allow_private), timeout_s=5)


async def test_audio_is_fetched(base: str) -> None:
    assert await fetcher().fetch(f"{base}/files/ref.wav", field=FIELD, max_bytes=10**6) == WAV


async def test_redirects_are_followed_up_to_the_limit(base: str) -> None:
    got = await fetcher().fetch(f"{base}/chain/{MAX_REDIRECTS}", field=FIELD, max_bytes=10**6)
    assert got == WAV
    with pytest.raises(UrlFetchFailed, match="redirected more than 5 times"):
        await fetcher().fetch(f"{base}/chain/{MAX_REDIRECTS + 1}", field=FIELD, max_bytes=10**6)


async def test_a_file_over_the_cap_is_refused(base: str) -> None:
    with pytest.raises(AudioTooLarge) as caught:
        await fetcher().fetch(f"{base}/files/ref.wav", field=FIELD, max_bytes=len(WAV) - 1)
    assert caught.value.details["field"] == FIELD


async def test_something_that_is_not_audio_is_refused(base: str) -> None:
    with pytest.raises(InvalidAudio, match="is not audio") as caught:
        await fetcher().fetch(f"{base}/files/notes.txt", field=FIELD, max_bytes=10**6)
    assert caught.value.details["field"] == FIELD


async def test_an_error_answer_is_a_fetch_failure(base: str) -> None:
    with pytest.raises(UrlFetchFailed, match="HTTP 404"):
        await fetcher().fetch(f"{base}/files/missing.wav", field=FIELD, max_bytes=10**6)


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data", "file:///etc/passwd"]
)
async def test_each_redirect_hop_is_checked_again(base: str, target: str) -> None:
    with pytest.raises(UrlNotAllowed) as caught:
        await fetcher().fetch(f"{base}/redirect?to={target}", field=FIELD, max_bytes=10**6)
    assert caught.value.details["field"] == FIELD


async def test_a_private_address_is_refused_unless_allowed(base: str) -> None:
    with pytest.raises(UrlNotAllowed, match="loopback"):
        await fetcher(allow_private=False).fetch(
            f"{base}/files/ref.wav", field=FIELD, max_bytes=10**6
        )
