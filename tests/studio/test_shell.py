"""The studio's shell: its page at /, sign-in by key exchanged for a cookie, CSRF, sign-out."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import ADMIN_KEY
from tests.studio.conftest import assert_accessible, screenshot, sign_in


def test_sign_in_with_a_key_sets_an_httponly_strict_cookie_and_keeps_no_key(
    page: Page, new_key: Callable[..., str]
) -> None:
    key = new_key("shell")
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sign-in")
    sign_in(page, key)
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "voxclone_session")
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert key not in session["value"]
    stored = page.evaluate(
        "() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})"
    )
    assert "vx_" not in stored
    assert page.evaluate("() => document.cookie") == ""  # not readable by scripts
    # A reload keeps the session; signing out ends it.
    page.reload()
    expect(page.get_by_role("navigation", name="Studio pages")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_key_shows_the_apis_message_next_to_the_field(page: Page) -> None:
    page.goto("/")
    page.get_by_label("API key").fill("vx_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="invalid API key")).to_be_visible()


def test_the_admin_key_sees_only_the_admin_pages(page: Page) -> None:
    sign_in(page, ADMIN_KEY)
    nav = page.get_by_role("navigation", name="Studio pages")
    expect(nav.get_by_role("link", name="Admin")).to_be_visible()
    expect(nav.get_by_role("link", name="Speak")).to_have_count(0)


def test_state_changes_need_the_csrf_token(studio_server: str, new_key: Callable[..., str]) -> None:
    key = new_key("csrf")
    with httpx.Client(base_url=studio_server) as client:
        r = client.post("/v1/studio/session", json={"api_key": key})
        assert r.status_code == 200, r.text
        csrf = r.json()["csrf_token"]
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        # Reads work with the cookie alone.
        assert client.get("/v1/voices").status_code == 200
        # A state change without the token is refused, with the reason.
        r = client.post("/v1/stories", json={"name": "x"})
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "csrf_failed"
        r = client.post("/v1/stories", json={"name": "x"}, headers={"X-CSRF-Token": "wrong"})
        assert r.status_code == 403
        r = client.post("/v1/stories", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        # Signing out ends the session for every later request.
        assert (
            client.delete("/v1/studio/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        )
        client.cookies.clear()
    with httpx.Client(base_url=studio_server) as stale:
        stale.cookies.set("voxclone_session", "forged-or-expired")
        r = stale.get("/v1/voices")
        assert r.status_code == 401
        assert "sign in again" in r.json()["message"]


def test_a_revoked_key_ends_its_studio_sessions(
    studio_server: str, new_key: Callable[..., str]
) -> None:
    key = new_key("revoked")
    with httpx.Client(base_url=studio_server) as client:
        assert client.post("/v1/studio/session", json={"api_key": key}).status_code == 200
        assert client.get("/v1/voices").status_code == 200
        keys = httpx.get(f"{studio_server}/v1/keys", headers={"X-API-Key": ADMIN_KEY}).json()
        key_id = next(k["key_id"] for k in keys if k["label"] == "revoked")
        r = httpx.delete(f"{studio_server}/v1/keys/{key_id}", headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 204
        r = client.get("/v1/voices")
        assert r.status_code == 401


def test_the_page_ships_inside_the_package_and_is_small(studio_server: str) -> None:
    """First load: the HTML, the shell's modules and the first page's, gzip-compressed."""
    with httpx.Client(base_url=studio_server, headers={"Accept-Encoding": "gzip"}) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert "text/html" in index.headers["content-type"]
        total = len(index.content)
        for path in (
            "/studio/studio.css",
            "/studio/js/app.js",
            "/studio/js/api.js",
            "/studio/js/ui.js",
            "/studio/vendor/wavesurfer/wavesurfer.esm.js",
            "/studio/js/pages/voices.js",
        ):
            r = client.get(path)
            assert r.status_code == 200, path
            if int(r.headers.get("content-length", len(r.content))) > 1000:
                assert r.headers.get("content-encoding") == "gzip", path
            total += int(r.headers.get("content-length", len(r.content)))
    assert total < 300_000, total
