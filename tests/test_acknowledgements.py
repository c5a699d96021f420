"""Issue 3: every acknowledgement keeps the policy's promises, whatever the channel and topic;
an absent handler's names the alternative; a reply joins its case with no second acknowledgement."""

from __future__ import annotations

import dataclasses
import shutil
import smtplib
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway import acknowledge, jobs
from gateway.assign import Assignment, current_assignment, load_absences
from gateway.config import Handler
from gateway.mail.parse import parse
from gateway.mail.smtp import IntakeController
from gateway.policy.presets import compute_deadlines
from gateway.services import Services, services_from_config
from gateway.store import Acknowledgement, Case, RawMessage
from gateway.templating import long_date
from tests.support.relay import Relay
from tests.support.work import drain

CHANNELS = ("email", "post", "voicemail", "social", "webform")
TOPICS = ("complaint", "general_enquiry", "membership", "qualifications", "safeguarding", "data_protection",
          "accessibility_request", "compliment")


def rendered(services: Services, channel: str, topic: str, who: Assignment | None = None) -> EmailMessage:
    """Render an acknowledgement for a case of this channel and topic, as the pipeline does."""
    config = services.config
    received = datetime(2026, 11, 27, 16, 45, tzinfo=UTC)
    policy_, calendar = services.policy
    due = compute_deadlines(policy_, calendar, channel, topic, 1, received)
    queue = config.queue_for(topic)
    team = config.teams[queue]
    who = who or Assignment(team.handlers[0])
    case = Case(id=7, reference="CS-2026-000007", first_message_id=3, created_at=received, channel=channel, topic=topic,
                secondary=[], reasons=["test"], queue=queue, handler_name=who.handler.name, handler_role=who.handler.role,
                stage=1, requester_name="Siân O'Neill <i>\r\nBcc: victim@example.net", requester_email="sian@example.com",
                subject="Help\r\nBcc: victim@example.net", acknowledge=True, acknowledge_by=due.acknowledge_by,
                reply_by=due.reply_by)
    boxes = [m.address for m in config.mailboxes if m.channel == channel]
    mailbox = boxes[0] if boxes else "complaints@example.org"
    raw = RawMessage(id=3, source="smtp", channel=channel, mailbox=mailbox, content_hash="x", size=1, raw=b"")
    original = parse(b"From: sian@example.com\r\nMessage-ID: <orig-1@example.com>\r\nReferences: <older@example.com>\r\n"
                     b"Subject: Help\r\n\r\nHello")
    ack = acknowledge.build(services, case, raw, original, who, due)
    return message_from_bytes(ack.rendered, policy=policy.default)  # type: ignore[return-value]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("topic", TOPICS)
def test_every_acknowledgement_carries_every_required_element(services: Services, channel: str, topic: str) -> None:
    mail = rendered(services, channel, topic)
    org = services.config.organisation
    assert "CS-2026-000007" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["In-Reply-To"] == "<orig-1@example.com>"
    assert "<older@example.com>" in mail["References"] and "<orig-1@example.com>" in mail["References"]
    assert mail["Message-ID"].startswith("<ack.CS-2026-000007.")
    assert mail["Reply-To"] and "@example.org" in mail["Reply-To"]
    # customer text never becomes a header, nor another recipient
    assert mail["Bcc"] is None and [a.addr_spec for a in mail["To"].addresses] == ["sian@example.com"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    policy_, calendar = services.policy
    due = compute_deadlines(policy_, calendar, channel, topic, 1, datetime(2026, 11, 27, 16, 45, tzinfo=UTC))
    handler = services.config.teams[services.config.queue_for(topic)].handlers[0]
    for body in (text, html):
        assert "CS-2026-000007" in body
        assert org["name"] in body
        assert handler.name in body and handler.role in body
        assert long_date(due.reply_by) in body
        assert f"{due.reply_days} working day" in body
        assert org["phone"] in body and org["email"] in body
        assert "Monday" in body and "bank holidays" in body  # opening hours with their exceptions
        assert "large print" in body and "interpreter" in body and "language" in body
        assert "Privacy" in body
    assert "<i>" not in html and "O&#39;Neill &lt;i&gt;" in html  # what a person typed is escaped
    if topic == "complaint":
        assert "Stage 2" in text and "Stage 3" in text and "next stage" in text


def test_an_absent_handler_is_named_with_the_alternative_and_the_return_date(
    config, redis_client, tmp_path: Path, relay: Relay  # type: ignore[no-untyped-def]
) -> None:
    queue_dir = tmp_path / "queue"
    shutil.copytree(config.queue_dir, queue_dir)
    (queue_dir / "absences.toml").write_text(
        '[[absence]]\nname = "Helen Fraser"\nfrom = "2026-01-01"\nback_on = "2099-01-05"\n'
        'alternative = { name = "Sam Okafor", role = "Deputy Safeguarding Officer", email = "sam.okafor@example.org" }\n'
    )
    services = services_from_config(dataclasses.replace(config, queue_dir=queue_dir), redis_client=redis_client)
    absences = load_absences(queue_dir)
    today = datetime.now(UTC).date()
    who = current_assignment(Handler("Helen Fraser", "Designated Safeguarding Officer"), absences, today)
    text = rendered(services, "email", "safeguarding", who).get_body(preferencelist=("plain",)).get_content()
    assert "Helen Fraser" in text and "away until Monday 5 January 2099" in text
    assert "Sam Okafor, Deputy Safeguarding Officer (sam.okafor@example.org)" in text
    # and through the pipeline: the safeguarding team's only handler is away, so her alternative is named
    jobs.bind(services)
    controller = IntakeController(services)
    controller.start()
    try:
        msg = EmailMessage()
        msg["From"] = "Worried Parent <parent@example.com>"
        msg["To"] = "enquiries@example.org"
        msg["Subject"] = "Concern about a coach"
        msg["Message-ID"] = make_msgid(domain="example.com")
        msg.set_content("My daughter (12) says her coach messages her late at night and told her to keep their chats secret.")
        with smtplib.SMTP(controller.hostname, controller.port) as client:
            client.send_message(msg)
        drain(services)
    finally:
        controller.stop()
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
    assert case.queue == "safeguarding"
    ack = relay.wait_for("parent@example.com")[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "away until Monday 5 January 2099" in ack and "Sam Okafor" in ack


def send(controller: IntakeController, msg: EmailMessage) -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.send_message(msg)


def mail(subject: str, body: str, *, sender: str = "jo@example.com", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Jo Bloggs <{sender}>"
    msg["To"] = "enquiries@example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


@pytest.fixture
def smtp(services: Services):  # type: ignore[no-untyped-def]
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.parametrize("how", ["reference in subject", "In-Reply-To our acknowledgement"])
def test_a_reply_joins_its_case_without_a_second_acknowledgement(
    services: Services, smtp: IntakeController, relay: Relay, how: str
) -> None:
    send(smtp, mail("Membership renewal question", "How do I renew my family membership online?"))
    drain(services)
    first = relay.wait_for("jo@example.com")[0].message
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
    if how == "reference in subject":
        reply = mail(f"Re: {case.reference} renewal", "Thanks. Also, can I pay by direct debit?")
    else:
        reply = mail("Re: your message", "Thanks. Also, can I pay by direct debit?", In_Reply_To=first["Message-ID"])
    send(smtp, reply)
    drain(services)
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(Acknowledgement)) == 1
        assert session.scalar(select(func.count()).select_from(RawMessage).where(RawMessage.case_id == case.id)) == 2
    assert len(relay.to("jo@example.com")) == 1
    team = relay.wait_for(services.config.teams[case.queue].address, count=2)
    assert len(team) == 2 and "Follow-up" in team[1].message["Subject"] and case.reference in team[1].message["Subject"]


def test_a_safeguarding_concern_in_a_reply_opens_its_own_restricted_case(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    send(smtp, mail("Membership renewal question", "How do I renew my family membership online?"))
    drain(services)
    with services.store.session() as session:
        first = session.scalars(select(Case)).one()
    concern = ("I also need to tell someone: my son's coach keeps asking him to meet alone and told him "
               "not to tell us about the messages. He has bruises he won't explain.")
    send(smtp, mail(f"Re: {first.reference}", concern))
    drain(services)
    with services.store.session() as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
    assert [c.queue for c in cases] == [first.queue, "safeguarding"]
    team_mail = relay.wait_for("safeguarding-officer@example.org")
    assert len(team_mail) == 1
    assert not any("bruises" in r.data.decode("utf-8", "replace") for r in relay.to(services.config.teams[first.queue].address))


def test_a_complaint_with_a_subject_access_request_starts_the_statutory_clock(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    send(smtp, mail("Formal complaint", "I want to make a formal complaint about how my appeal was handled. "
                    "I also make a subject access request for all personal data you hold about me."))
    drain(services)
    with services.store.session() as session:
        case = session.scalars(select(Case)).one()
    assert "data_protection" in (case.topic, *case.secondary)
    assert case.statutory_by is not None and case.reply_by is not None
    assert 27 <= (case.statutory_by - case.created_at).days <= 32 and case.statutory_by > case.reply_by
    team = relay.wait_for(services.config.teams[case.queue].address)[0].message.get_body(preferencelist=("plain",))
    assert "statutory deadline" in team.get_content()
