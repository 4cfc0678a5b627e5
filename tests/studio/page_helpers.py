"""Shared by the History, Editor and Stories studio tests."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.studio.conftest import sign_in


def sign_in_at(page: Page, key: str, route: str) -> None:
    """Sign in, let the first page finish rendering, then go to ``#/route`` and wait for it.

    Waiting for the first page matters: the shell marks ``main[data-ready]`` when a page's
    render resolves, so a slow first page that finishes after the jump would mark itself."""
    sign_in(page, key)
    expect(page.locator("main[data-ready]")).to_be_attached(timeout=30_000)
    page.goto(f"/#/{route}")
    page_name = route.split("?")[0]
    expect(page.locator(f'main[data-ready="{page_name}"]')).to_be_attached(timeout=30_000)
