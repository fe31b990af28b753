"""Headless Chromium for tests that look at pages: the one place that launches it, and the screenshots it takes.

Debian's chromium (requirements/apt-tiaas.txt) driven through Playwright's sync API (``executable_path``: Playwright
downloads no browser). ``chromium()`` yields a browser; ``new_page()`` opens a page of the common size in a new
context and collects console errors; ``screenshot()`` writes a PNG and checks it is one, of the page's width.

Where screenshots go: ``screenshot_dir(default)`` is ``$GALAXYOPS_SCREENSHOTS`` when set (e.g. ``docs/screenshots``
to refresh the README's pictures), else ``default`` (a temporary or artifacts directory), so a test run does not dirty
the checkout.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (tests run as root in containers and CI), nothing that phones home or updates itself.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 20000
ENV_DIR = "GALAXYOPS_SCREENSHOTS"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ChromiumMissing(RuntimeError):
    """Debian's chromium is not installed."""


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright ``Browser``), closed on exit."""
    if not Path(CHROMIUM).exists():
        raise ChromiumMissing(f"Debian's chromium is not installed ({CHROMIUM}; requirements/apt-tiaas.txt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, errors: list[str] | None = None, ignore_https_errors: bool = False):
    """A page of the common size in a new context; console errors are appended to ``errors``."""
    context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=ignore_https_errors)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    if errors is not None:
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def screenshot_dir(default: Path) -> Path:
    """``$GALAXYOPS_SCREENSHOTS`` when set (relative to the current directory), else ``default``; created."""
    chosen = Path(os.environ.get(ENV_DIR) or default)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file; ValueError when the file is not one."""
    head = Path(path).read_bytes()[:24]
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG image")
    return struct.unpack(">II", head[16:24])


def screenshot(page, path: Path, full_page: bool = True) -> tuple[int, int]:
    """Write the page to ``path`` as PNG; returns its size after checking it is a PNG as wide as the viewport."""
    page.screenshot(path=str(path), full_page=full_page)
    width, height = png_size(path)
    if width != page.viewport_size["width"] or height < page.viewport_size["height"]:
        raise ValueError(f"{path}: a {width}x{height} screenshot of a {page.viewport_size} page")
    return width, height
