"""Test support for the web app: a real app on a temporary store, a live server, Chromium and axe.

Everything here is real: the gateway's store and Redis (from tests/conftest.py), Debian's Chromium
driven by Playwright with `executable_path` (no downloaded browser), and axe-core from
tests/browser/node_modules (`npm ci --prefix tests/browser`).
"""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from forms import create_app
from gateway.config import load_config
from gateway.services import Services, services_from_config

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "test-artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


def sqlite_services(data_dir: Path, redis_client: redis.Redis) -> Services:
    """Services on a SQLite store under `data_dir` (the browser tests need one store, not two)."""
    config = load_config(env={"FRONTDESK_DATA_DIR": str(data_dir), "FRONTDESK_SECRET_KEY": "browser-test"})
    return services_from_config(config, redis_client=redis_client)


def make_app(services: Services, **overrides: Any) -> Flask:
    """A web app on these services with its own rate-limit namespace; `FORM={...}` overrides the
    [form] settings (rate limit, file limits...)."""
    test_config = {
        "TESTING": True,
        "FRONTDESK_SERVICES": services,
        "RATE_LIMIT_PREFIX": f"frontdesk-test:{uuid.uuid4().hex}",
        **overrides,
    }
    return create_app(services.config, test_config)


def csrf_token(client: FlaskClient, path: str = "/details?about=complaint") -> tuple[str, str]:
    """(CSRF token, one-time submission key) from a real page, as a browser would get them."""
    page = client.get(path).get_data(as_text=True)
    token = _TOKEN.search(page)
    key = _KEY.search(page)
    assert token is not None
    return token.group(1), key.group(1) if key else ""


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never `playwright install`); a fresh profile each run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core with the WCAG 2.2 A/AA tags. Injected through the DevTools protocol, which the
    page's CSP does not govern, so the page keeps its real policy while it is checked."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def screenshot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has focus: the way a keyboard user reaches a control."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never received focus by Tab")
