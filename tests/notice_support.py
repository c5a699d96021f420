"""Helpers for the notice tests: open a real case through SMTP and the intake queue, read notices back."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage

from sqlalchemy import select

from gateway.mail.smtp import IntakeController
from gateway.policy.calendar import WorkingCalendar, bank_holidays
from gateway.services import Services
from gateway.store import Case
from tests.support.relay import Received, Relay
from tests.support.work import drain
from tests.test_foundation import complaint

REQUESTER = "jo.bloggs@example.com"


def start_smtp(services: Services) -> Iterator[IntakeController]:
    """The real SMTP listener for a test module's `smtp` fixture."""
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


def open_case(services: Services, smtp: IntakeController, relay: Relay, msg: EmailMessage | None = None) -> Case:
    """Send a complaint through the SMTP listener, run the intake job, wait for the acknowledgement."""
    msg = msg if msg is not None else complaint()
    before = len(relay.received)
    with smtplib.SMTP(smtp.hostname, smtp.port, timeout=10) as client:
        client.send_message(msg, from_addr=None if msg["From"] else "scanner@example.org")
    drain(services, "intake")
    with services.store.session() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
    if case.acknowledge:
        relay.wait_for(case.requester_email)
        assert len(relay.received) == before + 1
    return case


def anonymous_complaint() -> EmailMessage:
    """A letter scanned without any address to answer: the case is opened, nothing can be sent."""
    msg = complaint()
    del msg["From"]
    return msg


def safeguarding_concern() -> EmailMessage:
    """A concern about a child: routed to the restricted safeguarding queue."""
    msg = complaint()
    del msg["Subject"]
    msg["Subject"] = "Worried about my son"
    msg.set_content("The coach keeps texting my son late at night and told him not to tell his mum.\n\nJo Bloggs")
    return msg


def notices(relay: Relay, kind: str, count: int = 1) -> list[Received]:
    """The notices of one kind the relay received (waiting for `count` of them)."""
    relay.wait_for(REQUESTER, count=count + 1)  # the acknowledgement came first
    return [r for r in relay.received if r.message["X-Frontdesk-Notice"] == kind]


def first_bank_holiday(cal: WorkingCalendar, after: date) -> date:
    """The first weekday bank holiday after `after` in the organisation's nation (not a closure day)."""
    days = {**bank_holidays(cal.nation, after.year), **bank_holidays(cal.nation, after.year + 1)}
    return min(d for d in days if d > after and d.weekday() < 5)


def body(received: Received) -> str:
    part = received.message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
