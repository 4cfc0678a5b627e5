"""Stories: real Piper voices, a script laid out as tracks and clips, an uploaded clip moved
with the mouse and the keyboard and trimmed, a render followed to the end whose file is as long
as the timeline, the mix played, the project exported; bad input shows the API's message next
to the control; and the studio keeps answering while a story renders."""

from __future__ import annotations

import io
import re
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import soundfile as sf
from playwright.sync_api import Page, expect

from tests.e2e.test_piper_end_to_end import reference_clip
from tests.studio.conftest import assert_accessible, open_page, screenshot
from tests.studio.page_helpers import sign_in_at
from tests.studio.speech_helpers import RAINBOW, error_next_to

SCRIPT = (
    "NARRATOR: The lighthouse had been dark for eleven years.\n\n"
    "MARA: Tom, look at this letter. It is addressed to the keeper!\n"
)
RENDER_S = 120_000  # ms


def voice(server: str, key: str, name: str, clip: Path) -> str:
    r = httpx.post(
        f"{server}/v1/voices",
        data={"name": name, "lang": "en", "backend": "piper"},
        files={"ref_audio": (clip.name, clip.read_bytes(), "application/octet-stream")},
        headers={"X-API-Key": key},
        timeout=120,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["voice_id"])


def story_of(server: str, key: str, story_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server}/v1/stories/{story_id}", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json())


def health_ms(client: httpx.Client) -> float:
    began = time.perf_counter()
    assert client.get("/health").status_code == 200
    return (time.perf_counter() - began) * 1000


def new_story(page: Page, name: str) -> str:
    open_page(page, "stories")
    page.get_by_label("Story name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=f"Story: {name}")).to_be_visible()
    return page.url.split("story=")[1]


def import_script(page: Page, script: str) -> None:
    page.get_by_label("Script", exact=True).fill(script)
    page.get_by_label("Voice for NARRATOR").select_option(label="Narrator")
    page.get_by_label("Voice for MARA").select_option(label="Mara")
    page.get_by_role("button", name="Import script").click()


def test_a_story_is_laid_out_edited_rendered_played_and_exported(
    page: Page, new_key: Callable[..., str], studio_server: str, speech_wav: Path
) -> None:
    key = new_key("stories")
    voice(studio_server, key, "Narrator", reference_clip())
    voice(studio_server, key, "Mara", RAINBOW)
    sign_in_at(page, key, "stories")
    story_id = new_story(page, "The lighthouse")

    import_script(page, SCRIPT)
    lanes = page.get_by_role("group", name="Lane NARRATOR")
    expect(lanes.get_by_role("button")).to_have_count(1)
    expect(page.get_by_role("group", name="Lane MARA").get_by_role("button")).to_have_count(1)
    expect(page.locator(".clip-table tbody tr")).to_have_count(2)

    # A new track, renamed; an uploaded clip on it at 1 s.
    page.get_by_label("New track name").fill("Music")
    page.get_by_role("button", name="Add track").click()
    page.get_by_label("Name of track 3").fill("Effects")
    page.get_by_label("Name of track 3").press("Enter")
    expect(page.get_by_role("group", name="Lane Effects")).to_be_visible()
    page.get_by_label("Gain of Effects (dB)").fill("-3")
    page.get_by_label("Gain of Effects (dB)").press("Enter")
    page.get_by_label("Mute MARA").check()
    expect(page.get_by_role("group", name="Lane MARA")).to_contain_text("MARA (muted)")
    page.get_by_label("Mute MARA").uncheck()
    expect(page.get_by_role("group", name="Lane MARA")).not_to_contain_text("(muted)")
    tracks = {t["name"]: t for t in story_of(studio_server, key, story_id)["tracks"]}
    assert tracks["Effects"]["gain_db"] == -3 and tracks["MARA"]["muted"] is False
    page.get_by_label("Track", exact=True).select_option(label="Effects")
    page.get_by_label("Clip from").select_option("upload")
    page.get_by_label("Audio file").set_input_files(speech_wav)
    page.get_by_label("Start at (s)").fill("1")
    page.get_by_role("button", name="Add clip").click()
    upload = page.get_by_role("group", name="Lane Effects").get_by_role("button")
    expect(upload).to_have_count(1)
    upload_id = upload.get_attribute("data-clip-id")

    def clip(clip_id: str | None) -> dict[str, Any]:
        story = story_of(studio_server, key, story_id)
        return next(c for c in story["clips"] if c["clip_id"] == clip_id)

    assert clip(upload_id)["start_s"] == 1.0
    # Pointer drag: 40 px a second, so 40 px to the right is 1 s later.
    upload.scroll_into_view_if_needed()
    box = upload.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    row = page.locator(f"tr[data-clip-id='{upload_id}']")
    start_cell = row.get_by_label(re.compile("^Start"))
    expect(start_cell).to_have_value("2")
    # Keyboard: five steps of 0.1 s to the right.
    upload = page.get_by_role("group", name="Lane Effects").get_by_role("button")
    upload.focus()
    for _ in range(5):
        upload.press("ArrowRight")
    expect(start_cell).to_have_value("2.5")
    assert clip(upload_id)["start_s"] == 2.5
    # Trim through the table: play its first 3 s only.
    row.get_by_label(re.compile("^Trim out")).fill("3")
    row.get_by_label(re.compile("^Trim out")).press("Enter")
    expect(row.get_by_label(re.compile("^Trim out"))).to_have_value("3")
    assert clip(upload_id)["end_s"] == 5.5
    # The timeline is redrawn from the API after the change: wait for the redrawn block, or the
    # handle found below may be the one the redraw is about to replace.
    expect(upload).to_have_attribute("aria-label", re.compile(r"2\.5 s to 5\.5 s"))
    # The right trim handle, dragged 20 px to the left: half a second shorter.
    handle = page.get_by_role("group", name="Lane Effects").locator(".handle.out")
    handle.scroll_into_view_if_needed()
    hb = handle.bounding_box()
    assert hb is not None
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] + hb["width"] / 2 - 20, hb["y"] + hb["height"] / 2, steps=5)
    page.mouse.up()
    expect(row.get_by_label(re.compile("^Trim out"))).to_have_value("2.5")

    # A text clip added from the form, synthesised by the API when the story renders.
    page.get_by_label("Track", exact=True).select_option(label="NARRATOR")
    page.get_by_label("Clip from").select_option("text")
    page.get_by_label("Clip text").fill("And so the light came back.")
    page.get_by_label("Clip voice").select_option(label="Narrator")
    page.get_by_label("Start at (s)").fill("9")
    page.get_by_role("button", name="Add clip").click()
    expect(page.locator(".clip-table tbody tr")).to_have_count(4)

    # Render: the progress reaches the end, the file is as long as the timeline.
    page.get_by_role("button", name="Render", exact=True).click()
    expect(page.get_by_test_id("render-status")).to_contain_text("Done", timeout=RENDER_S)
    expect(page.get_by_label("Render progress")).to_have_js_property("value", 1)
    story = story_of(studio_server, key, story_id)
    extent = max(c["end_s"] for c in story["clips"])
    assert all(c["rendered"] for c in story["clips"])
    assert extent > 9.5
    r = httpx.get(f"{studio_server}/v1/stories/{story_id}/audio", headers={"X-API-Key": key})
    assert r.status_code == 200
    mix = sf.info(io.BytesIO(r.content)).duration
    assert abs(mix - extent) < 0.05, (mix, extent)
    player = page.get_by_label("Play the mix")
    page.wait_for_function("el => el.readyState >= 1", arg=player.element_handle())
    assert abs(float(player.evaluate("el => el.duration")) - mix) < 0.05
    expect(page.get_by_test_id("render-status")).to_contain_text(f"{mix:.1f} s")

    # Export: the project archive, with every clip.
    with page.expect_download() as info:
        page.get_by_role("link", name="Export project (zip)").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        names = archive.namelist()
    assert "story.json" in names
    assert sum(n.startswith("clips/") for n in names) == 4

    assert_accessible(page)
    screenshot(page, "stories")
    # Opened again later, the story offers its last render.
    page.reload()
    expect(page.get_by_label("Play the mix")).to_have_attribute(
        "src", re.compile(f"/v1/stories/{story_id}/audio")
    )


def test_bad_input_shows_the_apis_message_next_to_the_control(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("stories-bad")
    voice(studio_server, key, "Narrator", reference_clip())
    voice(studio_server, key, "Mara", RAINBOW)
    sign_in_at(page, key, "stories")
    story_id = new_story(page, "Bad input")
    headers = {"X-API-Key": key}

    # An empty script.
    r = httpx.post(
        f"{studio_server}/v1/stories/{story_id}/script",
        json={"script": "", "voices": {}},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    page.get_by_role("button", name="Import script").click()
    expect(error_next_to(page, "Script")).to_have_text(r.json()["message"])

    # A track is removed after a confirmation, with its clips.
    page.get_by_label("New track name").fill("Spare")
    page.get_by_role("button", name="Add track").click()
    spare = page.get_by_role("group", name="Track Spare")
    spare.get_by_role("button", name="Remove track").click()
    spare.get_by_role("button", name="Yes, remove").click()
    expect(page.get_by_role("group", name="Lane Spare")).to_have_count(0)
    assert not story_of(studio_server, key, story_id)["tracks"]

    # A trim that ends before it starts.
    import_script(page, SCRIPT)
    expect(page.locator(".clip-table tbody tr")).to_have_count(2)
    trim_in = page.get_by_label("Trim in (s) of clip 1")
    before = trim_in.element_handle()
    trim_in.fill("1")
    trim_in.press("Enter")
    page.wait_for_function("el => !el.isConnected", arg=before)  # redrawn from the API
    expect(page.get_by_label("Trim in (s) of clip 1")).to_have_value("1")
    clip_id = story_of(studio_server, key, story_id)["clips"][0]["clip_id"]
    r = httpx.patch(
        f"{studio_server}/v1/stories/{story_id}/clips/{clip_id}",
        json={"trim_out_s": 0.5},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    page.get_by_label("Trim out (s) of clip 1").fill("0.5")
    page.get_by_label("Trim out (s) of clip 1").press("Enter")
    message = page.locator(
        f"[id='{page.get_by_label('Trim out (s) of clip 1').get_attribute('id')}-error']"
    )
    expect(message).to_have_text(r.json()["message"])
    assert story_of(studio_server, key, story_id)["clips"][0]["trim_out_s"] is None


def test_stories_are_listed_and_deleted_after_a_confirmation(
    page: Page, new_key: Callable[..., str]
) -> None:
    sign_in_at(page, new_key("stories-list"), "stories")
    new_story(page, "First")
    new_story(page, "Second")
    open_page(page, "stories")
    stories = page.get_by_role("list", name="Your stories").get_by_role("listitem")
    expect(stories).to_have_count(2)
    page.get_by_role("button", name="Delete First").click()
    page.get_by_role("button", name="Cancel").click()
    expect(stories).to_have_count(2)
    page.get_by_role("button", name="Delete First").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(stories).to_have_count(1)
    page.reload()
    expect(page.get_by_role("list", name="Your stories").get_by_role("link")).to_have_text(
        ["Second"]
    )


def test_the_studio_answers_within_50_ms_while_a_story_renders(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    key = new_key("stories-health")
    voice(studio_server, key, "Narrator", reference_clip())
    voice(studio_server, key, "Mara", RAINBOW)
    sign_in_at(page, key, "stories")
    story_id = new_story(page, "Long")
    lines = [
        f"{'NARRATOR' if n % 2 else 'MARA'}: This is line {n} of a long story, read slowly "
        "so that the render takes a while to finish on the server.\n\n"
        for n in range(12)
    ]
    import_script(page, "".join(lines))
    expect(page.locator(".clip-table tbody tr")).to_have_count(12)
    timings: list[float] = []
    with httpx.Client(base_url=studio_server, headers={"X-API-Key": key}) as client:
        idle = [health_ms(client) for _ in range(10)]
        with page.expect_response(lambda r: r.url.endswith("/render")) as answer:
            page.get_by_role("button", name="Render", exact=True).click()
        job_id = answer.value.json()["job_id"]
        deadline = time.monotonic() + RENDER_S / 1000
        while time.monotonic() < deadline:
            status = client.get(f"/v1/jobs/{job_id}").json()["status"]
            if status in ("ready", "failed"):
                break
            if status == "running":
                timings.append(health_ms(client))
            time.sleep(0.2)
    expect(page.get_by_test_id("render-status")).to_contain_text("Done", timeout=RENDER_S)
    assert story_of(studio_server, key, story_id)["last_render_job_id"]
    print(f"GET /health idle, ms: {[round(t, 1) for t in idle]}")
    print(f"GET /health during a render, ms: {[round(t, 1) for t in timings]}")
    assert len(timings) >= 3, timings
    # Two shared CPU cores: a rare answer waits for a busy core, so the 90th percentile counts.
    assert statistics.median(timings) < 50, timings
    assert statistics.quantiles(timings, n=10)[-1] < 50, timings
