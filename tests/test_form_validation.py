"""The public form's validation rules, through the Flask test client against the real app.

Each case posts the details form with a real CSRF token and checks the GOV.UK error pattern: the
summary link points at the field, the same words sit beside the field, answers are kept and the
title says "Error: ". Nothing invalid reaches the store.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from gateway.services import Services
from gateway.store import RawMessage
from tests.support.browser import csrf_token, make_app, sqlite_services

VALID = {
    "about": "complaint",
    "details": "My exam certificate has not arrived after 3 months.",
    "reply": "email",
    "email": "sam@example.com",
}


@pytest.fixture
def web(tmp_path: Path, redis_client: redis.Redis) -> Iterator[tuple[Flask, Services]]:
    services = sqlite_services(tmp_path / "var", redis_client)
    yield make_app(services), services
    services.store.engine.dispose()


def post(client: FlaskClient, **answers: Any) -> Any:
    token, key = csrf_token(client)
    data = {"csrf_token": token, "key": key, **answers}
    return client.post("/details", data=data, content_type="multipart/form-data")


def summary(page: str) -> list[tuple[str, str]]:
    box = page.split('class="error-summary"', 1)
    if len(box) < 2:
        return []
    return [(a, html.unescape(b)) for a, b in re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', box[1].split("</ul>")[0])]


def stored(services: Services) -> int:
    with services.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(RawMessage)) or 0)


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"details": ""}, "details", "Enter details of what happened"),
        ({"details": "   \r\n "}, "details", "Enter details of what happened"),
        ({"about": "question", "details": ""}, "details", "Enter your question"),
        ({"details": "x" * 15_001}, "details", "What happened must be 15,000 characters or fewer"),
        ({"details": "a\x00b"}, "details", "What happened must not contain hidden control characters"),
        ({"outcome": "x" * 5_001}, "outcome", "What you would like us to do must be 5,000 characters or fewer"),
        ({"reply": ""}, "reply", "Select how you would like us to reply"),
        ({"reply": "fax"}, "reply", "Select how you would like us to reply"),
        ({"email": ""}, "email", "Enter your email address"),
        ({"email": "sam@"}, "email", "Enter an email address in the correct format, like name@example.com"),
        ({"email": "sam@example.com\r\nBcc: victim@example.net"}, "email", "Email address must be on one line"),
        ({"email": "a" * 250 + "@example.com"}, "email", "Email address must be 254 characters or fewer"),
        ({"email": "sam@example"}, "email", "Enter an email address in the correct format"),
        ({"email": "sam..jones@example.com"}, "email", "Enter an email address in the correct format"),
        ({"reply": "phone"}, "phone", "Enter your phone number"),
        ({"reply": "phone", "phone": "call me"}, "phone", "Enter a phone number, like 01632 960 001"),
        ({"reply": "phone", "phone": "123"}, "phone", "Enter a phone number, like 01632 960 001"),
        ({"reply": "post"}, "address", "Enter your postal address"),
        ({"name": "Sam\r\nBcc: victim@example.net"}, "name", "Full name must be on one line"),
        ({"name": "Sam\x00"}, "name", "Full name must not contain hidden control characters"),
        ({"name": "x" * 201}, "name", "Full name must be 200 characters or fewer"),
        ({"membership": "12-34"}, "membership", "Enter your membership or candidate number in the correct format"),
        ({"adjustments": "interpreter"}, "language", "Enter the language you need an interpreter for"),
        ({"adjustments": "telepathy"}, "adjustments", "Select an option from the list"),
    ],
)
def test_each_rule_shows_the_error_pattern(
    web: tuple[Flask, Services], answers: dict[str, str], field: str, message: str
) -> None:
    app, services = web
    response = post(app.test_client(), **{**VALID, **answers})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in page
    assert "There is a problem" in page
    links = summary(page)
    assert links and links[0][0] == field and links[0][1].startswith(message), links
    # the same words beside the field, tied to it for screen readers
    assert f'id="{field}-error"' in page
    assert re.search(rf'aria-describedby="[^"]*\b{field}-error\b', page)
    if answers.get("details", "").strip() and "\x00" not in answers["details"]:
        assert html.escape(answers["details"][:50], quote=False) in page  # answers kept
    assert stored(services) == 0


def test_empty_submit_lists_every_missing_answer_in_page_order(web: tuple[Flask, Services]) -> None:
    app, _ = web
    page = post(app.test_client(), about="complaint").get_data(as_text=True)
    assert [field for field, _ in summary(page)] == ["details", "reply"]
    assert "novalidate" in page and " required" not in page


@pytest.mark.parametrize(
    ("answers", "header", "value"),
    [
        ({"reply": "phone", "phone": "+44 (0)20 7946 0000", "email": ""}, "x-frontdesk-form-phone", "+44 (0)20 7946 0000"),
        (
            {"reply": "post", "address": "1 High St\r\nCardiff\r\nCF10 1AA"},
            "x-frontdesk-form-address",
            "1 High St, Cardiff, CF10 1AA",
        ),
        ({"reply": "none", "email": "", "name": ""}, "x-frontdesk-form-reply", "none"),
        ({"membership": "m 123 4567"}, "x-frontdesk-form-membership", "M1234567"),
        (
            {"adjustments": ["large_print", "interpreter"], "language": "Polish"},
            "x-frontdesk-form-adjustments",
            "large_print,interpreter",
        ),
        ({"email": "Sam.Jones@Example.COM"}, "x-frontdesk-form-email", "Sam.Jones@example.com"),
        ({"email": "sam@bücher.example"}, "x-frontdesk-form-email", "sam@xn--bcher-kva.example"),
    ],
)
def test_valid_answers_are_stored_in_form_headers(
    web: tuple[Flask, Services], answers: dict[str, Any], header: str, value: str
) -> None:
    from gateway.mail.parse import parse

    app, services = web
    response = post(app.test_client(), **{**VALID, **answers})
    assert response.status_code == 303, summary(response.get_data(as_text=True))
    with services.store.session() as session:
        raw = session.scalars(select(RawMessage)).one()
    assert raw.source == "form" and raw.channel == "webform"
    assert parse(raw.raw).header(header) == value


def test_answers_for_an_option_not_chosen_are_dropped(web: tuple[Flask, Services]) -> None:
    from gateway.mail.parse import parse

    app, services = web
    response = post(app.test_client(), **{**VALID, "reply": "email", "phone": "not checked", "address": "x"})
    assert response.status_code == 303
    with services.store.session() as session:
        msg = parse(session.scalars(select(RawMessage)).one().raw)
    assert msg.header("x-frontdesk-form-phone") == "" and msg.header("x-frontdesk-form-address") == ""


def test_every_text_the_templates_use_is_in_the_catalogue() -> None:
    from forms.catalogue import load_catalogue
    from gateway.resources import data_path

    web = data_path("templates") / "web"
    cat = load_catalogue(web / "text")
    used = set()
    for template in web.glob("*.html"):
        # dynamic keys ("about." ~ value) are built from a prefix; check the literal ones
        used |= set(re.findall(r"""t\(["']([a-z_.]*[a-z])["'][,)]""", template.read_text()))
    missing = []
    for key in sorted(used):
        try:
            cat.lookup(key)
        except KeyError:
            missing.append(key)
    assert used and missing == []


def test_a_translation_overlays_english_without_code(tmp_path: Path) -> None:
    from forms.catalogue import load_catalogue
    from gateway.resources import data_path

    folder = data_path("templates") / "web" / "text"
    (tmp_path / "en.toml").write_bytes((folder / "en.toml").read_bytes())
    (tmp_path / "cy.toml").write_text('[meta]\nlang = "cy"\n\n[about]\ntitle = "Beth yw pwnc eich neges?"\n')
    cat = load_catalogue(tmp_path, "cy")
    assert cat.html_lang == "cy" and cat.text("about.title") == "Beth yw pwnc eich neges?"
    assert cat.text("meta.error_summary") == "There is a problem"  # not yet translated: English
