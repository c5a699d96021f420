"""Nothing lost, nothing doubled: the submission is committed before the confirmation page, and a
double submit (double click, back button, a retried POST) gives one case. Runs on SQLite and
PostgreSQL through the shared `services` fixture, with the gateway's real submit_form.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from gateway.mail.parse import parse
from gateway.services import Services
from gateway.store import Case, RawMessage
from tests.support.browser import csrf_token, make_app
from tests.test_form_validation import VALID, post, summary


@pytest.fixture
def app(services: Services) -> Flask:
    return make_app(services)


def counts(services: Services) -> tuple[int, int]:
    with services.store.session() as session:
        raws = session.scalar(select(func.count()).select_from(RawMessage)) or 0
        cases = session.scalar(select(func.count()).select_from(Case)) or 0
    return int(raws), int(cases)


def test_the_case_is_committed_before_the_confirmation_shows_it(app: Flask, services: Services) -> None:
    client = app.test_client()
    response = post(client, **VALID)
    assert response.status_code == 303 and response.headers["Location"].endswith("/confirmation")
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
        raw = session.scalars(select(RawMessage)).one()
    assert raw.source == "form" and raw.case_id == case.id
    page = client.get("/confirmation").get_data(as_text=True)
    assert case.reference and case.reference in page
    assert "We will reply by " in page and str(case.reply_by.year) in page
    assert case.handler_name in page


def test_a_double_click_gives_one_case(app: Flask, services: Services) -> None:
    client = app.test_client()
    token, key = csrf_token(client)
    data = {**VALID, "csrf_token": token, "key": key}
    first = client.post("/details", data=data)
    second = client.post("/details", data=data)
    assert first.status_code == second.status_code == 303
    assert counts(services) == (1, 1)


def test_a_retried_post_from_another_connection_gives_one_case(app: Flask, services: Services) -> None:
    """The session is lost (a retried request without cookies): the one-time key still matches."""
    first, second = app.test_client(), app.test_client()
    token1, key = csrf_token(first)
    token2, _ = csrf_token(second)
    assert first.post("/details", data={**VALID, "csrf_token": token1, "key": key}).status_code == 303
    assert second.post("/details", data={**VALID, "csrf_token": token2, "key": key}).status_code == 303
    assert counts(services) == (1, 1)
    assert first.get("/confirmation").get_data() != b"" and "CS-" in second.get("/confirmation").get_data(as_text=True)


def test_back_and_send_again_gives_one_case_but_an_edited_message_is_kept(app: Flask, services: Services) -> None:
    client = app.test_client()
    assert post(client, **VALID).status_code == 303  # a fresh key each time, as after Back
    assert post(client, **VALID).status_code == 303
    assert counts(services) == (1, 1)
    assert post(client, **{**VALID, "details": "Something else entirely"}).status_code == 303
    assert counts(services) == (2, 2)


def test_a_store_failure_keeps_the_answers_and_says_so(services: Services) -> None:
    def broken(_services: Any, _raw: bytes, _key: str) -> Any:
        raise OSError("database went away")

    app = make_app(services, FRONTDESK_SUBMIT=broken)
    response = post(app.test_client(), **VALID)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "We could not send your message just now" in page and VALID["details"] in page


def test_the_confirmation_without_a_submission_explains_itself(app: Flask) -> None:
    page = app.test_client().get("/confirmation").get_data(as_text=True)
    assert "We cannot show your confirmation" in page


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_files_are_stored_as_parts_with_our_content_type(app: Flask, services: Services) -> None:
    files = [(io.BytesIO(PDF), "letter from you.pdf"), (io.BytesIO("Notes: ŵ".encode()), "notes.txt")]
    response = post(app.test_client(), **VALID, files=files)
    assert response.status_code == 303, summary(response.get_data(as_text=True))
    with services.store.session() as session:
        msg = parse(session.scalars(select(RawMessage)).one().raw)
    assert {(a.filename, a.content_type) for a in msg.attachments} >= {("letter from you.pdf", "application/pdf")}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"MZ\x90\x00", "setup.exe")], "setup.exe must be a PDF, JPG, PNG, Word, OpenDocument or text file"),
        ([(b"<html><script>", "fake.pdf")], "fake.pdf must be a PDF"),
        ([(b"", "empty.pdf")], "empty.pdf is empty"),
        ([(PDF, f"{n}.pdf") for n in range(4)], "Select up to 3 files"),
        ([(b"%PDF-" + b"0" * (5 * 1024 * 1024), "huge.pdf")], "huge.pdf must be smaller than 5MB"),
    ],
)
def test_files_are_checked(app: Flask, services: Services, files: list[tuple[bytes, str]], message: str) -> None:
    response = post(app.test_client(), **VALID, files=[(io.BytesIO(d), n) for d, n in files])
    links = summary(response.get_data(as_text=True))
    assert links and links[0][0] == "files" and links[0][1].startswith(message)
    assert counts(services) == (0, 0)


def test_the_safety_route_interrupts_and_offers_an_exit(app: Flask) -> None:
    client = app.test_client()
    token, _ = csrf_token(client, "/")
    response = client.post("/", data={"csrf_token": token, "about": "safety"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/safety")
    page = client.get("/safety").get_data(as_text=True)
    assert "call 999" in page and "data-exit-page" in page and "/details?about=safety" in page
    assert "data-exit-page" in client.get("/details?about=safety").get_data(as_text=True)
    assert post(client, **{**VALID, "about": "safety"}).status_code == 303
    confirmation = client.get("/confirmation").get_data(as_text=True)
    assert "Concern sent" in confirmation and "data-exit-page" in confirmation
