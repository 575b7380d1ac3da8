"""Real headless Chromium (the system package, driven by Playwright) against the real app
served over HTTP by a werkzeug server thread."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():  # noqa: ANN201
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(ui) -> Iterator[str]:  # noqa: ANN001
    app, _ = ui
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(chromium, live_server):  # noqa: ANN001, ANN201
    """A fresh browser context on the app, watching for what must not happen: `dialogs`
    (an alert() from injected script; confirm dialogs are accepted) and `problems`
    (script errors, CSP refusals, and responses ≥ 400 other than the favicon's)."""
    context = chromium.new_context(base_url=live_server, locale="vi-VN")
    page = context.new_page()
    dialogs: list[str] = []
    problems: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    # A failed load is reported below with its status; other console errors are problems.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.dialogs, page.problems = dialogs, problems
    yield page
    context.close()
