"""Issue 2, as a user meets it: `frontdesk run` as a real process on free ports. Mail by SMTP and a
complaint through the real HTTP form (GET for the CSRF token, then POST) each get one
acknowledgement; with no Redis and no relay the gateway still works (embedded Redis, .eml outbox)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_REDIS_URL, free_port
from tests.support.relay import Relay
from tests.test_foundation import complaint

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KEY = re.compile(r'name="key"[^>]*value="([^"]*)"')


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"frontdesk run exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")


@pytest.fixture
def gateway(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[dict[str, str], Path]]:
    env = {**os.environ, **request.param(tmp_path)}
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run"], cwd=tmp_path, env=env, stdout=out, stderr=out)
        try:
            wait_port(int(env["FRONTDESK_SMTP_PORT"]), proc)
            wait_port(int(env["FRONTDESK_WEB_PORT"]), proc)
            yield env, log
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()


class Browser:
    """A cookie-keeping HTTP client: what a browser does with the form, minus the rendering."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(fields).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode()


def with_relay(relay_port: int):  # type: ignore[no-untyped-def]
    def env(tmp_path: Path) -> dict[str, str]:
        return {
            "FRONTDESK_DATA_DIR": str(tmp_path / "var"),
            "REDIS_URL": TEST_REDIS_URL,
            "FRONTDESK_RELAY": f"smtp://127.0.0.1:{relay_port}",
            "FRONTDESK_SMTP_PORT": str(free_port()),
            "FRONTDESK_WEB_PORT": str(free_port()),
        }

    return env


RELAY_PORT = free_port()


@pytest.fixture
def relay_on_port() -> Iterator[Relay]:
    from tests.support.relay import start_relay

    server = start_relay(RELAY_PORT)
    yield server
    server.stop()


@pytest.mark.parametrize("gateway", [with_relay(RELAY_PORT)], indirect=True)
def test_mail_and_form_through_a_running_gateway(
    relay_on_port: Relay, redis_client: object, gateway: tuple[dict[str, str], Path]
) -> None:
    env, log = gateway
    with smtplib.SMTP("127.0.0.1", int(env["FRONTDESK_SMTP_PORT"]), timeout=10) as client:
        client.send_message(complaint())
    acks = relay_on_port.wait_for("jo.bloggs@example.com", timeout=30)
    assert len(acks) == 1 and acks[0].message["Auto-Submitted"] == "auto-replied"
    assert re.search(r"\[CS-\d{4}-\d{6}\]", acks[0].message["Subject"])

    browser = Browser(f"http://127.0.0.1:{env['FRONTDESK_WEB_PORT']}")
    status, url, page = browser.get("/")
    assert status == 200
    status, url, page = browser.post("/", {"csrf_token": TOKEN.search(page).group(1), "about": "complaint"})
    assert status == 200 and "/details" in url
    token, key = TOKEN.search(page).group(1), KEY.search(page).group(1)
    refused, _, _ = browser.post("/details", {"key": key, "about": "complaint", "details": "No token", "reply": "none"})
    assert refused == 400
    fields = {
        "csrf_token": token,
        "key": key,
        "about": "complaint",
        "details": "I was charged twice for my membership renewal and want a refund.",
        "reply": "email",
        "name": "Ana Pereira",
        "email": "ana.pereira@example.net",
    }
    status, url, page = browser.post("/details", fields)
    assert status == 200 and url.endswith("/confirmation"), page[:2000]
    reference = re.search(r"CS-\d{4}-\d{6}", page).group(0)
    assert "We will reply by" in page
    form_acks = relay_on_port.wait_for("ana.pereira@example.net", timeout=30)
    assert len(form_acks) == 1
    body = form_acks[0].message.get_body(preferencelist=("plain",)).get_content()
    assert reference in form_acks[0].message["Subject"] and reference in body
    handler = re.search(r"([A-Z][a-z]+ [A-Z][a-z]+), [A-Za-z ]+, is handling your case", body).group(1)
    assert handler in page
    due = re.search(r"We will reply by (\w+day \d{1,2} \w+ \d{4})", body).group(1)
    assert due in page
    time.sleep(1)
    assert len(relay_on_port.to("ana.pereira@example.net")) == 1
    assert "Redis at" in log.read_text()


def no_services(tmp_path: Path) -> dict[str, str]:
    return {
        "FRONTDESK_DATA_DIR": str(tmp_path / "var"),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing answers there
        "FRONTDESK_RELAY": "",
        "FRONTDESK_SMTP_PORT": str(free_port()),
        "FRONTDESK_WEB_PORT": str(free_port()),
    }


@pytest.mark.parametrize("gateway", [no_services], indirect=True)
def test_runs_with_no_redis_and_no_relay(gateway: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, log = gateway
    assert "embedded" in log.read_text()
    with smtplib.SMTP("127.0.0.1", int(env["FRONTDESK_SMTP_PORT"]), timeout=10) as client:
        client.send_message(complaint())
    outbox = tmp_path / "var" / "outbox"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(outbox.glob("*.eml"))) < 2:
        time.sleep(0.1)
    mails = sorted(p.read_text() for p in outbox.glob("*.eml"))
    assert len(mails) == 2, log.read_text()
    ack = next(m for m in mails if "Auto-Submitted: auto-replied" in m)
    assert "To: Jo Bloggs <jo.bloggs@example.com>" in ack
    assert any("complaints-team@example.org" in m for m in mails)
