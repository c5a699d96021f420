"""Safety of the public form: headers, CSRF, honeypot, rate limit, size limits, hostile input.

Hostile answers must either be stored verbatim and shown escaped, or refused with a field error;
never a 500, an injected header, or template code that runs.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from gateway.mail.parse import parse
from gateway.services import Services
from gateway.store import RawMessage
from tests.support.browser import csrf_token, make_app, sqlite_services
from tests.test_form_validation import VALID, post, stored, summary


@pytest.fixture
def services(tmp_path: Path, redis_client: redis.Redis) -> Iterator[Services]:
    built = sqlite_services(tmp_path / "var", redis_client)
    yield built
    built.store.engine.dispose()


@pytest.fixture
def app(services: Services) -> Flask:
    return make_app(services)


@pytest.mark.parametrize("path", ["/", "/safety", "/details?about=complaint", "/confirmation", "/privacy", "/nowhere"])
def test_every_page_sends_the_security_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and "<style" not in body


def test_a_post_without_a_token_is_refused_and_the_answers_are_kept(app: Flask, services: Services) -> None:
    client = app.test_client()
    response = client.post("/details", data={**VALID, "details": "Typed for an hour <b>"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This page timed out, so we have not sent your message yet" in page
    assert "Typed for an hour &lt;b&gt;" in page and 'value="sam@example.com"' in page
    assert stored(services) == 0


def test_the_opening_question_also_needs_a_token(app: Flask) -> None:
    response = app.test_client().post("/", data={"about": "complaint"})
    assert response.status_code == 400 and "timed out" in response.get_data(as_text=True)


def test_an_expired_token_reshows_the_form_and_the_fresh_token_sends(services: Services) -> None:
    app = make_app(services, FORM={"csrf_time_limit": 1})
    client = app.test_client()
    token, key = csrf_token(client)
    time.sleep(2.1)
    response = client.post("/details", data={**VALID, "csrf_token": token, "key": key})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "timed out" in page and "<title>Error: " in page
    assert VALID["details"] in page
    fresh = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert fresh != token
    again = client.post("/details", data={**VALID, "csrf_token": fresh, "key": key})
    assert again.status_code == 303 and stored(services) == 1


def test_the_honeypot_stores_nothing(app: Flask, services: Services) -> None:
    response = post(app.test_client(), **VALID, website="http://spam.example")
    assert response.status_code == 400
    assert "We could not send your message" in response.get_data(as_text=True)
    assert stored(services) == 0


def test_the_rate_limit_answers_429_with_a_readable_page(services: Services) -> None:
    app = make_app(services, FORM={"rate_limit": 3, "rate_window": 600})
    client = app.test_client()
    token, _ = csrf_token(client)
    codes = [client.post("/", data={"csrf_token": token, "about": "complaint"}).status_code for _ in range(3)]
    refused = client.post("/", data={"csrf_token": token, "about": "complaint"})
    assert codes == [303, 303, 303]
    assert refused.status_code == 429
    assert "You have sent too many messages" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "600"
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.post("/", data={"csrf_token": csrf_token(other)[0], "about": "complaint"}).status_code == 303


def test_a_request_over_the_size_limit_gets_a_friendly_413(services: Services) -> None:
    app = make_app(services, FORM={"max_files": 1, "max_file_bytes": 1024 * 1024})
    client = app.test_client()
    token, key = csrf_token(client)
    big = io.BytesIO(b"%PDF-" + b"0" * (4 * 1024 * 1024))
    response = client.post("/details", data={**VALID, "csrf_token": token, "key": key, "files": (big, "big.pdf")})
    assert response.status_code == 413
    assert "Your message is too large to send" in response.get_data(as_text=True)


def test_one_megabyte_of_text_gets_a_field_error_not_a_crash(app: Flask, services: Services) -> None:
    response = post(app.test_client(), **{**VALID, "details": "x" * 1_000_000})
    assert response.status_code == 200
    assert summary(response.get_data(as_text=True))[0] == ("details", "What happened must be 15,000 characters or fewer")
    assert stored(services) == 0


def test_an_unexpected_error_shows_a_friendly_page_without_a_trace(services: Services) -> None:
    app = make_app(services, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert "Traceback" not in body and "secret internals" not in body


HOSTILE = [
    "<script>document.title='pwned'</script>",
    "{{7*7}} {% for x in range(3) %}{{x}}{% endfor %} ${7*7} #{7*7}",
    "'; DROP TABLE raw_message; --",
    'Robert\'); DELETE FROM "case" WHERE 1=1; --',
    "\u202eexe.txt  \u2066isolated\u2069 \u200fRTL mark",
    "Emoji 😀👩🏽‍💻🏴󠁧󠁢󠁷󠁬󠁳󠁿 and 𝕗𝕒𝕟𝕔𝕪",
    "Cymraeg: Ŵ ŷ ŵ — العربية — 中文 — Ελληνικά",
    "Subject: injected\r\nBcc: victim@example.net\r\n\r\nbody",
    "x" * 15_000,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_verbatim(app: Flask, services: Services, text: str) -> None:
    response = post(
        app.test_client(), **{**VALID, "details": text, "outcome": text[:5000], "name": text[:200] if "\n" not in text else "Sam"}
    )
    assert response.status_code == 303, summary(response.get_data(as_text=True))
    with services.store.session() as session:
        raw = session.scalars(select(RawMessage)).one()
    msg = parse(raw.raw)
    assert text.replace("\r\n", "\n") in msg.text.replace("\r\n", "\n")
    names = [name for name, _ in msg.headers]
    assert "bcc" not in names and names.count("subject") == 1
    assert msg.from_addr == "sam@example.com"


@pytest.mark.parametrize("text", HOSTILE[:4])
def test_hostile_text_is_shown_back_escaped(app: Flask, text: str) -> None:
    page = post(app.test_client(), **{**VALID, "details": text, "reply": ""}).get_data(as_text=True)
    assert str(escape(text)) in page
    assert "<script>document" not in page and ">49<" not in page and " 49 " not in page


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ('"Evil" <boss@example.org>, other@example.net', "sam@example.com"),
        ("Zoë O'Brien-Łukasiewicz 李小龍", "用户@例子.广告"),
        ("A" * 200, "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".example"),
    ],
)
def test_names_and_international_addresses_cannot_forge_the_sender(app: Flask, services: Services, name: str, email: str) -> None:
    response = post(app.test_client(), **{**VALID, "name": name, "email": email})
    assert response.status_code == 303, summary(response.get_data(as_text=True))
    with services.store.session() as session:
        raw = session.scalars(select(RawMessage)).one()
    msg = parse(raw.raw)
    assert len([n for n, _ in msg.headers if n == "from"]) == 1
    if email.isascii():
        assert msg.from_addr.lower() == email.lower()
    else:  # RFC 6532: the address is written as UTF-8 in the From line, every other header is 7-bit
        head = raw.raw.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ").split(b"\r\n")
        from_line = next(line for line in head if line.startswith(b"From:"))
        assert f"<{email}>".encode() in from_line
        assert all(line.isascii() for line in head if line != from_line)
    assert msg.header("x-frontdesk-form-name") == name
