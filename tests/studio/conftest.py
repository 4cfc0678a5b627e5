"""The web studio in a real headless Chromium (Debian's ``chromium``, driven by Playwright
through ``executable_path``) against one real server with the built-in engines.

Every test fails on a console error or an uncaught exception in the page. The one kind of
console message that is not counted is Chromium's own network line for a 4xx answer ("Failed
to load resource: ... status of 422"): the tests of bad input cause those on purpose, and the
page shows the API's message instead (which those tests assert). A 5xx is still a failure.

Microphone recording uses Chromium's fake capture device, fed with a real speech WAV.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import ADMIN_KEY, make_settings
from tests.e2e.test_piper_end_to_end import reference_clip
from tests.remote.servers import ThreadServer
from voxclone.api.app import create_app
from voxclone.engines.catalog import builtin_specs
from voxclone.engines.registry import EngineRegistry
from voxclone.services.container import build_services

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NETWORK_4XX = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s server: SQLite, local disk, the built-in engines (Piper the default)."""
    data_dir = tmp_path_factory.mktemp("studio") / "data"
    settings = make_settings(data_dir, default_backend="piper", default_stt_backend="whisper")
    services = build_services(settings, engines=EngineRegistry(builtin_specs(settings)))
    with ThreadServer(create_app(services=services)) as url:
        yield url


@pytest.fixture(scope="session")
def new_key(studio_server: str) -> Callable[..., str]:
    """A fresh user key (each test its own tenant): ``new_key("label", monthly_char_quota=10)``."""

    def make(label: str = "studio", **limits: object) -> str:
        r = httpx.post(
            f"{studio_server}/v1/keys",
            json={"label": label, **limits},
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])

    return make


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real recording as 16-bit PCM WAV, for the fake microphone and for uploads."""
    samples, rate = sf.read(reference_clip(), dtype="float32")
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def browser(speech_wav: Path) -> Iterator[Browser]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop
    running while it is open, and the async tests after these modules need their own."""
    assert CHROMIUM.exists(), "the studio tests need Debian's chromium: apt-get install chromium"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={speech_wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, studio_server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=studio_server, viewport={"width": 1280, "height": 860}, accept_downloads=True
    )
    context.grant_permissions(["microphone"], origin=studio_server)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not NETWORK_4XX.search(message.text):
            problems.append(f"console error: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    yield tab
    context.close()
    assert not problems, "\n".join(problems)


def sign_in(page: Page, key: str) -> None:
    """Sign in through the form, as a person does, and wait for the first page."""
    page.goto("/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Studio pages")).to_be_visible()


def open_page(page: Page, path: str) -> None:
    """Go to ``#/path`` and wait until its module has rendered."""
    page.goto(f"/#/{path}")
    expect(page.locator(f'main[data-ready="{path}"]')).to_be_attached()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on what is on screen now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    bad = [v for v in result if v.get("impact") in ("serious", "critical")]
    assert not bad, json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["html"] for n in v["nodes"][:3]],
            }
            for v in bad
        ],
        indent=1,
    )
