"""Issue 4.3: never answer a machine, and link bounces of our acknowledgements to their case.

The corpus in tests/corpus/automatic/ holds real shapes of automatic mail (Exchange and Gmail
out-of-office, old auto-responders, Postfix, Exchange and qmail bounces, read receipts, list
digests, newsletters, no-reply notifications, our own team's address). Each is delivered over
SMTP and must be stored, visible as a case, and unanswered, with the reason recorded.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.bounces import FLAG, bounced_message_ids, is_delivery_failure
from gateway.hygiene import automatic_reasons
from gateway.mail.parse import parse
from gateway.mail.smtp import IntakeController
from gateway.services import Services
from gateway.store import Acknowledgement, Case, CaseEvent, RawMessage
from tests.support.relay import Relay
from tests.support.work import drain

CORPUS = Path(__file__).parent / "corpus" / "automatic"
OWN = {"complaints@example.org", "complaints-team@example.org", "frontdesk@example.org"}
# file -> a fragment of the reason it must be recorded with
EXPECTED = {
    "autoresponder_x_autoreply.eml": "x-autoreply",
    "donotreply_notification.eml": "no-reply sender",
    "exchange_ndr.eml": "multipart/report",
    "exchange_out_of_office.eml": "Auto-Submitted: auto-generated",
    "gmail_vacation.eml": "Auto-Submitted: auto-replied",
    "mailman_digest.eml": "mailing-list header",
    "newsletter_bulk.eml": "Precedence: bulk",
    "noreply_notification.eml": "no-reply sender",
    "old_autoresponder_subject_only.eml": "automatic reply subject",
    "own_team_address.eml": "our own address",
    "postfix_dsn_bounce.eml": "multipart/report",
    "qmail_failure_notice.eml": "no-reply sender mailer-daemon",
    "read_receipt_mdn.eml": "multipart/report",
    "spaced_colon_auto_submitted.eml": "Auto-Submitted: auto-replied",
}
BOUNCES = {"exchange_ndr.eml", "postfix_dsn_bounce.eml", "qmail_failure_notice.eml"}


def test_corpus_is_complete() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_automatic_message_has_its_reason(name: str) -> None:
    reasons = automatic_reasons(parse((CORPUS / name).read_bytes()), OWN)
    assert any(EXPECTED[name] in r for r in reasons), reasons


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "no"},
        {"Precedence": "first-class"},
        {"Subject": "Complaint: out of office hours the phone line is never answered"},
        {"From": "Nora Eply <nora.eply@example.com>"},
    ],
)
def test_a_person_is_not_mistaken_for_a_machine(headers: dict[str, str]) -> None:
    msg = complaint()
    for name, value in headers.items():
        del msg[name]
        msg[name] = value
    assert automatic_reasons(parse(msg.as_bytes()), OWN) == []


def complaint(sender: str = "jo.bloggs@example.com", subject: str = "Complaint about my membership renewal") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Jo Bloggs <{sender}>"
    msg["To"] = "complaints@example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("I want to make a formal complaint: I was charged twice for my renewal. Please refund me.\n\nJo Bloggs")
    return msg


@pytest.fixture
def smtp(services: Services) -> Iterator[IntakeController]:
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


def deliver(controller: IntakeController, raw: bytes, envelope_from: str) -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.sendmail(envelope_from, ["complaints@example.org"], raw)


def test_automatic_corpus_is_stored_visible_and_never_answered(services: Services, smtp: IntakeController, relay: Relay) -> None:
    for name in sorted(EXPECTED):
        raw = (CORPUS / name).read_bytes()
        deliver(smtp, raw, "" if name in BOUNCES else parse(raw).from_addr)
    deliver(smtp, complaint("human.control@example.com").as_bytes(), "human.control@example.com")
    drain(services)
    with services.store.session() as session:
        rows = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
        assert len(rows) == len(EXPECTED) + 1
        wrong = []
        for name, row in zip(sorted(EXPECTED), rows, strict=False):
            case = session.get(Case, row.case_id) if row.case_id else None
            if case is None or case.acknowledge or not any(EXPECTED[name] in r for r in case.no_ack_reasons):
                wrong.append((name, row.state, case and case.no_ack_reasons))
        assert wrong == []
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "not_acknowledged")) == len(
            EXPECTED
        )
    assert [r.rcpt_tos for r in relay.received if not r.rcpt_tos[0].endswith("@example.org")] == [["human.control@example.com"]]


def test_null_envelope_sender_alone_suppresses_the_acknowledgement(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    """MAIL FROM:<> is how bounces and RFC 3834 responders arrive; the listener records it as Return-Path: <>."""
    deliver(smtp, complaint("plain.person@example.com").as_bytes(), "")
    drain(services)
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
        raw = session.scalars(select(RawMessage)).one()
    assert raw.raw.startswith(b"Return-Path: <>\r\n")
    assert not case.acknowledge and any("Return-Path" in r for r in case.no_ack_reasons)
    assert relay.to("plain.person@example.com") == []


def test_at_most_three_acknowledgements_per_sender_a_day(services: Services, smtp: IntakeController, relay: Relay) -> None:
    for n in range(4):
        deliver(smtp, complaint(subject=f"Complaint number {n + 1} about my renewal").as_bytes(), "jo.bloggs@example.com")
    drain(services)
    assert len(relay.to("jo.bloggs@example.com")) == 3
    with services.store.session() as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
    assert [c.acknowledge for c in cases] == [True, True, True, False]
    assert any("over 3 acknowledgements" in r for r in cases[3].no_ack_reasons)


# --- bounces of our acknowledgements ------------------------------------------------------------


def dsn(ack: bytes, style: str) -> tuple[bytes, str]:
    """A bounce of `ack` as three kinds of MTA write it; returns (raw, envelope sender)."""
    head = ack.split(b"\r\n\r\n", 1)[0]
    if style == "postfix-rfc822":
        returned = b"Content-Type: message/rfc822\r\n\r\n" + ack
    elif style == "exchange-headers":
        returned = b"Content-Type: text/rfc822-headers\r\n\r\n" + head + b"\r\n"
    else:  # qmail: plain text, the original quoted below a line
        text = b"I'm afraid I wasn't able to deliver your message.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n"
        raw = b"From: MAILER-DAEMON@qmail.example\r\nTo: frontdesk@example.org\r\nSubject: failure notice\r\n\r\n" + text + ack
        return raw, ""
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: frontdesk@example.org\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n\r\n'
        b"--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; jo.bloggs@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\r\n\r\n"
        b"--BB\r\n" + returned + b"\r\n--BB--\r\n"
    )
    return raw, ""


def acknowledged_case(services: Services, smtp: IntakeController, relay: Relay) -> tuple[Acknowledgement, bytes]:
    deliver(smtp, complaint().as_bytes(), "jo.bloggs@example.com")
    drain(services)
    sent = relay.wait_for("jo.bloggs@example.com")
    assert len(sent) == 1
    with services.store.session() as session:
        ack = session.scalars(select(Acknowledgement)).one()
    assert ack.state == "sent"
    return ack, sent[0].data


@pytest.mark.parametrize("style", ["postfix-rfc822", "exchange-headers", "qmail-quoted"])
def test_ids_of_a_bounced_acknowledgement_are_found(style: str) -> None:
    ack = b"From: frontdesk@example.org\r\nMessage-ID: <ack.CS-2026-000042.7@example.org>\r\nSubject: x\r\n\r\nHello\r\n"
    raw, _ = dsn(ack, style)
    msg = parse(raw)
    assert is_delivery_failure(msg)
    assert "<ack.CS-2026-000042.7@example.org>" in bounced_message_ids(msg, raw)


@pytest.mark.parametrize("style", ["postfix-rfc822", "exchange-headers", "qmail-quoted"])
def test_bounce_of_an_acknowledgement_flags_its_case_and_opens_none(
    services: Services, smtp: IntakeController, relay: Relay, style: str
) -> None:
    ack, sent = acknowledged_case(services, smtp, relay)
    raw, envelope = dsn(sent, style)
    deliver(smtp, raw, envelope)
    drain(services)
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        case = session.get(Case, ack.case_id)
        bounce = session.scalars(select(RawMessage).order_by(RawMessage.id.desc())).first()
        event = session.scalars(select(CaseEvent).where(CaseEvent.kind == "acknowledgement_bounced")).one()
        stored_ack = session.get(Acknowledgement, ack.id)
    assert stored_ack is not None and stored_ack.state == "bounced" and stored_ack.error
    assert case is not None and FLAG in case.flags
    assert bounce is not None and bounce.case_id == case.id and bounce.state == "done"
    assert event.case_id == case.id and event.detail["acknowledgement"] == ack.message_id
    assert len(relay.received) == 2  # the acknowledgement and the routed case: nothing sent to the daemon


def test_out_of_office_reply_to_an_acknowledgement_is_not_a_bounce(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    ack, _ = acknowledged_case(services, smtp, relay)
    reply = EmailMessage()
    reply["From"] = "Jo Bloggs <jo.bloggs@example.com>"
    reply["To"] = "frontdesk@example.org"
    reply["Subject"] = "Automatic reply: Your complaint"
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = ack.message_id
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply.set_content("I am away until Monday.")
    deliver(smtp, reply.as_bytes(), "")
    drain(services)
    with services.store.session() as session:
        stored_ack = session.get(Acknowledgement, ack.id)
        case = session.get(Case, ack.case_id)
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "acknowledgement_bounced")) == 0
    assert stored_ack is not None and stored_ack.state == "sent"
    assert case is not None and FLAG not in case.flags
    assert len(relay.to("jo.bloggs@example.com")) == 1


def test_delayed_dsn_is_not_a_bounce() -> None:
    ack = b"Message-ID: <ack.CS-2026-000042.7@example.org>\r\n\r\nHello\r\n"
    raw, _ = dsn(ack, "postfix-rfc822")
    msg = parse(raw.replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1", b"Status: 4.4.1"))
    assert not is_delivery_failure(msg)
