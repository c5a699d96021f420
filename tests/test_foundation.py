"""Issue 2: a message from SMTP travels the whole way: stored, classified, acknowledged, routed."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from rq import Queue
from sqlalchemy import func, select

from gateway.mail.smtp import IntakeController
from gateway.services import Services
from gateway.store import Acknowledgement, Case, RawMessage, Routing
from tests.support.relay import Relay
from tests.support.work import drain


def complaint(sender: str = "jo.bloggs@example.com", to: str = "complaints@example.org", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Jo Bloggs <{sender}>"
    msg["To"] = to
    msg["Subject"] = "Complaint about my membership renewal"
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(
        "I want to make a formal complaint. I was charged twice for my renewal and nobody has answered my calls.\n"
        "Please refund the second payment.\n\nJo Bloggs"
    )
    return msg


@pytest.fixture
def smtp(services: Services):  # type: ignore[no-untyped-def]
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


def send(controller: IntakeController, msg: EmailMessage, rcpt: list[str] | None = None) -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.send_message(msg, to_addrs=rcpt)


def test_import_queue_is_the_standard_library() -> None:
    import queue
    import sysconfig

    assert hasattr(queue, "Queue") and hasattr(queue, "SimpleQueue")
    assert (queue.__file__ or "").startswith(sysconfig.get_paths()["stdlib"])


def test_smtp_message_is_stored_acknowledged_once_and_routed(services: Services, smtp: IntakeController, relay: Relay) -> None:
    send(smtp, complaint())
    with services.store.session() as session:
        raw = session.scalars(select(RawMessage)).one()
        assert raw.channel == "email" and raw.mailbox == "complaints@example.org" and raw.state == "new"
        assert b"charged twice" in raw.raw
    drain(services, "intake")
    # the routed work sits on the complaints team's queue in the real Redis, not yet delivered
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
        routing = session.scalars(select(Routing)).one()
    assert case.queue == "complaints" and case.topic == "complaint"
    assert f"route-{routing.id}" in Queue("complaints", connection=services.redis).job_ids
    acks = relay.wait_for("jo.bloggs@example.com")
    assert len(acks) == 1
    ack = acks[0].message
    body = ack.get_body(preferencelist=("plain",)).get_content()
    assert ack["Auto-Submitted"] == "auto-replied"
    assert case.reference and case.reference in ack["Subject"] and case.reference in body
    assert case.handler_name and case.handler_name in body
    due = case.reply_by.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    assert f"{due:%A} {due.day} {due:%B %Y}" in body
    assert ack["In-Reply-To"]
    drain(services, "complaints")
    team = relay.wait_for("complaints-team@example.org")
    assert len(team) == 1
    team_mail = team[0].message
    assert case.reference in team_mail["Subject"]
    text = team_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Why this topic" in text and case.reasons[0] in text
    attachments = list(team_mail.iter_attachments())
    assert attachments and b"charged twice" in attachments[0].get_payload(decode=True)
    assert len(relay.received) == 2  # one acknowledgement, one routed item: nothing else


def test_processing_twice_sends_one_acknowledgement(services: Services, smtp: IntakeController, relay: Relay) -> None:
    from gateway import jobs, pipeline

    send(smtp, complaint())
    with services.store.session() as session:
        raw_id = session.scalar(select(RawMessage.id))
    pipeline.process(services, raw_id)
    pipeline.process(services, raw_id)
    jobs.enqueue_intake(services, raw_id)
    drain(services)
    assert len(relay.to("jo.bloggs@example.com")) == 1
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1


def test_unknown_recipient_gets_550(services: Services, smtp: IntakeController) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp, complaint(to="someone@elsewhere.example"))
    code, reason = refused.value.recipients["someone@elsewhere.example"]
    assert code == 550 and b"no such mailbox" in reason
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 0


def test_oversize_message_gets_552(services: Services, smtp: IntakeController) -> None:
    msg = complaint()
    msg.set_content("x" * (services.config.max_message_bytes + 1000))
    with pytest.raises(smtplib.SMTPException) as refused:
        send(smtp, msg)
    assert "552" in str(refused.value)
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 0


@pytest.mark.parametrize(
    "header,value",
    [("Auto-Submitted", "auto-replied"), ("Precedence", "bulk"), ("List-Id", "<news.example.com>"), ("Return-Path", "<>")],
)
def test_automatic_mail_is_stored_but_not_acknowledged(
    services: Services, smtp: IntakeController, relay: Relay, header: str, value: str
) -> None:
    send(smtp, complaint(**{header: value}))
    drain(services)
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
        assert not case.acknowledge and any(header.split("-")[0].lower() in r.lower() for r in case.no_ack_reasons)
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 0
    assert relay.to("jo.bloggs@example.com") == []


def test_cli_help_explains_each_command() -> None:
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("run", "smtp", "web", "worker", "sweep"):
        assert command in out
