"""Admin: keys (create with limits, the key shown once and usable to sign in, edit limits,
revoke), usage across keys, and engines with health and latency percentiles."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_KEY
from tests.studio.conftest import assert_accessible, open_page, screenshot, sign_in
from tests.studio.speech_helpers import api_error, error_next_to, piper_voice, synthesize

TEXT = "The admin sees this key's characters."


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_admin_creates_edits_and_revokes_a_key_that_can_sign_in(
    page: Page, new_key: Callable[..., str], studio_server: str
) -> None:
    user = new_key("busy-user")
    voice = piper_voice(studio_server, user)
    for n in range(3):
        synthesize(studio_server, user, voice, f"{TEXT} Take {n + 1}.")

    sign_in(page, ADMIN_KEY)
    open_page(page, "admin")

    # Engines: health and the latency of the syntheses above.
    engines = page.get_by_role("region", name="Engines")
    expect(engines.get_by_role("status")).to_contain_text("Default backend: piper")
    piper = engines.get_by_role("row", name=re.compile("^piper"))
    expect(piper).to_contain_text("healthy")
    cells = piper.get_by_role("cell")
    p50, p95, p99, calls = (cells.nth(i).inner_text() for i in range(2, 6))
    assert all(re.fullmatch(r"\d+ ms", v) for v in (p50, p95, p99)), (p50, p95, p99)
    assert int(p50[:-3]) <= int(p95[:-3]) <= int(p99[:-3])
    assert int(calls) >= 3

    # Usage across keys names the busy key by its label.
    usage = page.get_by_role("region", name="Usage across keys")
    busy = usage.get_by_role("table", name="Usage by key this month").get_by_role(
        "row", name=re.compile("^busy-user")
    )
    expect(busy).to_contain_text(str(sum(len(f"{TEXT} Take {n + 1}.") for n in range(3))))
    expect(usage.get_by_role("img")).to_have_attribute("aria-label", re.compile("in all"))

    # Create a key with limits: shown once.
    create = page.get_by_role("form", name="Create a key")
    create.get_by_label("Label").fill("partner")
    create.get_by_label("Requests per minute").fill("30")
    create.get_by_label("Characters per period").fill("1000")
    create.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key")
    expect(secret).to_have_text(re.compile(r"^vx_"))
    new_secret = secret.inner_text()
    expect(page.get_by_text("it is shown once and never again")).to_be_visible()
    keys = page.get_by_role("region", name="API keys")
    partner = keys.get_by_role("row", name=re.compile("^partner"))
    expect(partner).to_contain_text("Requests per minute: 30")
    expect(partner).to_contain_text("Characters per period: 1000")
    expect(partner).to_contain_text("Concurrent jobs: server default")
    assert_accessible(page)
    screenshot(page, "admin")

    # Edit its limits.
    keys.get_by_role("button", name="Edit partner").click()
    edit = page.get_by_role("form", name="Edit partner")
    expect(edit.get_by_label("Requests per minute")).to_have_value("30")
    edit.get_by_label("Concurrent jobs").fill("2")
    edit.get_by_label("Requests per minute").fill("")  # back to the server's default
    edit.get_by_role("button", name="Save limits").click()
    expect(partner).to_contain_text("Concurrent jobs: 2")
    expect(partner).to_contain_text("Requests per minute: server default")
    listed = httpx.get(f"{studio_server}/v1/keys", headers={"X-API-Key": ADMIN_KEY}).json()
    record = next(k for k in listed if k["label"] == "partner")
    assert record["max_concurrent_jobs"] == 2 and record["rate_limit_per_minute"] is None
    assert record["monthly_char_quota"] == 1000

    # The new key signs in as a user.
    sign_out(page)
    sign_in(page, new_secret)
    expect(page.get_by_role("navigation", name="Studio pages").get_by_role("link", name="Speak"))
    expect(page.get_by_text("signed in: partner")).to_be_visible()
    sign_out(page)

    # Revoked (after a confirmation), it no longer can.
    sign_in(page, ADMIN_KEY)
    open_page(page, "admin")
    keys.get_by_role("button", name="Revoke partner").click()
    keys.get_by_role("button", name="Confirm revoke partner").click()
    expect(partner).to_contain_text("revoked")
    expect(partner.get_by_role("button")).to_have_count(0)
    sign_out(page)
    page.get_by_label("API key").fill(new_secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="API key")).to_be_visible()


def test_a_limit_out_of_range_shows_the_apis_message_by_its_field(
    page: Page, studio_server: str
) -> None:
    message = api_error(studio_server, ADMIN_KEY, "/v1/keys", json={"monthly_char_quota": -5})
    sign_in(page, ADMIN_KEY)
    open_page(page, "admin")
    create = page.get_by_role("form", name="Create a key")
    create.get_by_label("Label").fill("negative")
    create.get_by_label("Characters per period").fill("-5")
    create.get_by_role("button", name="Create key").click()
    expect(error_next_to(page, "Characters per period")).to_have_text(message)
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    listed = httpx.get(f"{studio_server}/v1/keys", headers={"X-API-Key": ADMIN_KEY}).json()
    assert not any(k["label"] == "negative" for k in listed)
