"""History: real Piper syntheses listed, searched, filtered, paged, played, downloaded,
starred, regenerated, opened in the editor and deleted, in a real Chromium."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import soundfile as sf
from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_piper_end_to_end import reference_clip
from tests.studio.conftest import assert_accessible, screenshot
from tests.studio.page_helpers import sign_in_at
from tests.studio.speech_helpers import error_next_to, piper_voice, synthesize

LINES = [
    "The lighthouse had been dark for eleven years.",
    "Nobody has kept that light since the storm.",
    "A letter arrived on a grey morning in March.",
]


def rows(page: Page) -> Locator:
    return page.get_by_role("list", name="History items").get_by_role("listitem")


def row(page: Page, text: str) -> Locator:
    return rows(page).filter(has_text=text)


def history(server: str, key: str, **query: str) -> list[dict[str, object]]:
    r = httpx.get(f"{server}/v1/history", params=query, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_syntheses_appear_play_star_regenerate_and_delete(
    page: Page, new_key: Callable[..., str], studio_server: str, tmp_path: Path
) -> None:
    key = new_key("history")
    voice = piper_voice(studio_server, key, reference_clip())
    for line in LINES:
        synthesize(studio_server, key, voice, line)
    sign_in_at(page, key, "history")
    expect(rows(page)).to_have_count(3)
    expect(rows(page).first).to_contain_text(LINES[-1])  # newest first
    first = row(page, LINES[0])
    expect(first).to_contain_text("narrator")

    # The player plays the item's audio: its duration is the decoded file's.
    item = next(i for i in history(studio_server, key) if i["text"] == LINES[0])
    player = first.get_by_label(re.compile("^Play: The lighthouse"))
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle(), timeout=30_000)
    shown = float(player.evaluate("el => el.duration"))
    audio = httpx.get(
        f"{studio_server}/v1/history/{item['history_id']}/audio", headers={"X-API-Key": key}
    ).content
    assert abs(shown - sf.info(io.BytesIO(audio)).duration) < 0.05
    assert abs(shown - float(item["duration_s"])) < 0.05  # type: ignore[arg-type]

    # Download: the same audio.
    with page.expect_download() as info:
        first.get_by_role("link", name="Download").click()
    assert Path(info.value.path()).read_bytes() == audio

    # Starring shows on the row and in the API; "Starred only" then lists just it.
    star = first.get_by_role("button", name=re.compile("Star"))
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(star).to_have_text("★ Starred")
    assert [i["text"] for i in history(studio_server, key, starred="true")] == [LINES[0]]
    page.get_by_label("Starred only").check()
    expect(rows(page)).to_have_count(1)
    page.get_by_label("Starred only").uncheck()
    expect(rows(page)).to_have_count(3)

    # Search by text.
    page.get_by_label("Search").fill("STORM")
    page.get_by_role("button", name="Apply").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text(LINES[1])
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(rows(page)).to_have_count(3)

    # Regenerate: a new take at the top, from the same text.
    row(page, LINES[1]).get_by_role("button", name="Regenerate").click()
    expect(rows(page)).to_have_count(4)
    expect(rows(page).first).to_contain_text(LINES[1])
    expect(rows(page).first).to_contain_text("regenerate")
    expect(page.get_by_role("main").get_by_role("status")).to_have_text("4 items shown.")
    assert len(history(studio_server, key, search="storm")) == 2

    assert_accessible(page)
    screenshot(page, "history")

    # Delete asks first; Cancel keeps the item, "Yes, delete" removes it.
    doomed = row(page, LINES[2])
    doomed.get_by_role("button", name="Delete").click()
    doomed.get_by_role("button", name="Cancel").click()
    expect(rows(page)).to_have_count(4)
    doomed.get_by_role("button", name="Delete").click()
    doomed.get_by_role("button", name="Yes, delete").click()
    expect(rows(page)).to_have_count(3)
    expect(row(page, LINES[2])).to_have_count(0)
    assert not history(studio_server, key, search="grey morning")

    # Open in the editor.
    row(page, LINES[0]).get_by_role("link", name="Open in the editor").click()
    expect(page).to_have_url(re.compile(rf"#/editor\?history={item['history_id']}$"))


def test_voice_and_date_filters_and_cursor_paging(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("history-pages")
    voice = piper_voice(studio_server, key, reference_clip())
    texts = [f"Line number {n} of the paging test." for n in range(12)]
    for text in texts:
        synthesize(studio_server, key, voice, text)
    sign_in_at(page, key, "history")
    page.get_by_label("Per page").select_option("10")
    expect(rows(page)).to_have_count(10)
    expect(page.get_by_role("main").get_by_role("status")).to_contain_text("there are more")
    page.get_by_role("button", name="Load more").click()
    expect(rows(page)).to_have_count(12)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    listed = [t.split("\n")[0] for t in rows(page).locator(".history-text").all_inner_texts()]
    assert listed == list(reversed(texts))

    page.get_by_label("Voice").select_option(label="narrator")
    expect(rows(page)).to_have_count(10)
    # Every item was made today: "To" yesterday hides them all, "From" today keeps them.
    page.get_by_label("To", exact=True).fill("2000-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(rows(page)).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("status")).to_contain_text("Nothing here yet")
    page.get_by_label("To", exact=True).fill("")
    page.get_by_label("From", exact=True).fill(
        page.evaluate("() => new Date().toLocaleDateString('sv')")
    )
    page.get_by_role("button", name="Apply").click()
    expect(rows(page)).to_have_count(10)


def test_a_search_too_long_shows_the_apis_message_next_to_the_search(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("history-bad")
    r = httpx.get(
        f"{studio_server}/v1/history", params={"search": "x" * 501}, headers={"X-API-Key": key}
    )
    assert r.status_code == 422
    sign_in_at(page, key, "history")
    page.get_by_label("Search").fill("x" * 501)
    page.get_by_role("button", name="Apply").click()
    expect(error_next_to(page, "Search")).to_have_text(r.json()["message"])
    expect(page.get_by_label("Search")).to_have_attribute("aria-invalid", "true")
