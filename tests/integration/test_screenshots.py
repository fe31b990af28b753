"""tests.support.screenshots in real headless Chromium: a page served over HTTP becomes a PNG of the page's size, and
screenshots go to the checkout only when asked."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from tests.support import screenshots

PAGE = b"""<!doctype html><html><head><title>shot</title></head>
<body style="margin:0"><div id="tall" style="height:2000px;background:#2c3e50">a tall page</div></body></html>"""


@pytest.fixture(scope="module")
def served():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_full_page_screenshot_is_a_png_of_the_page(served, tmp_path):
    errors: list[str] = []
    with screenshots.chromium() as browser:
        page = screenshots.new_page(browser, errors)
        page.goto(served)
        assert page.inner_text("#tall") == "a tall page"
        size = screenshots.screenshot(page, tmp_path / "tall.png")
        viewport = screenshots.screenshot(page, tmp_path / "viewport.png", full_page=False)
    assert size == (screenshots.VIEWPORT["width"], 2000)
    assert viewport == (screenshots.VIEWPORT["width"], screenshots.VIEWPORT["height"])
    assert screenshots.png_size(tmp_path / "tall.png") == size
    assert errors == []


def test_not_a_png_is_refused(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a" + b"\0" * 40)
    with pytest.raises(ValueError, match="is not a PNG"):
        screenshots.png_size(fake)
    fake.write_bytes(b"")
    with pytest.raises(ValueError, match="is not a PNG"):
        screenshots.png_size(fake)


def test_screenshots_go_to_the_checkout_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(screenshots.ENV_DIR, raising=False)
    assert screenshots.screenshot_dir(tmp_path / "default") == tmp_path / "default"
    monkeypatch.setenv(screenshots.ENV_DIR, str(tmp_path / "docs"))
    chosen = screenshots.screenshot_dir(tmp_path / "default")
    assert chosen == tmp_path / "docs" and chosen.is_dir()
    assert isinstance(chosen, Path)
