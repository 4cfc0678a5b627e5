"""How fast is the studio ready in a browser? Time to the sign-in page and to the first page
after signing in, and the bytes of a first load.

    .venv/bin/python benchmarks/studio_load.py [--runs 6]

Starts `voxclone serve` (the embedded default) on loopback and drives Debian's Chromium
(Playwright, ``executable_path=/usr/bin/chromium``), a fresh browser context per run (no
cache). "Ready" is the shell's own mark that a page has rendered (``main[data-ready]``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
from playwright.sync_api import sync_playwright

ADMIN = "vxadmin_studio-load-benchmark-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = 8000 + os.getpid() % 1000
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOXCLONE_")},
            "VOXCLONE_DATA_DIR": f"{tmp}/data",
            "VOXCLONE_ADMIN_KEY": ADMIN,
            "VOXCLONE_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "voxclone", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            key = httpx.post(
                f"{url}/v1/keys", json={"label": "load"}, headers={"X-API-Key": ADMIN}
            ).json()["api_key"]
            first, signed, transferred = [], [], []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
                for _ in range(args.runs):
                    context = browser.new_context()
                    page = context.new_page()
                    sizes: list[int] = []
                    page.on(
                        "response",
                        lambda r, seen=sizes: seen.append(
                            int(r.headers.get("content-length", "0"))
                        ),
                    )
                    started = time.perf_counter()
                    page.goto(f"{url}/")
                    page.wait_for_selector('main[data-ready="signin"]')
                    first.append((time.perf_counter() - started) * 1000)
                    page.get_by_label("API key").fill(key)
                    started = time.perf_counter()
                    page.get_by_role("button", name="Sign in").click()
                    page.wait_for_selector('main[data-ready="voices"]')
                    signed.append((time.perf_counter() - started) * 1000)
                    transferred.append(sum(sizes) / 1024)
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'measure':<44} {'median':>8} {'min':>8} {'max':>8}")
    for name, values, unit in [
        ("sign-in page ready", first, "ms"),
        ("first page ready after Sign in", signed, "ms"),
        ("bytes received, both pages", transferred, "KB"),
    ]:
        label = f"{name} ({unit})"
        print(
            f"{label:<44} {statistics.median(values):>8.0f} {min(values):>8.0f} {max(values):>8.0f}"
        )


if __name__ == "__main__":
    main()
