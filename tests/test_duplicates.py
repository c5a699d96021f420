"""Issue 4.2: the same message delivered twice (or by SMTP and by IMAP) gives one case and one acknowledgement."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from gateway import pipeline
from gateway.intake import accept
from gateway.mail.smtp import IntakeController
from gateway.services import Services
from gateway.store import Acknowledgement, Case, RawMessage
from tests.support.relay import Relay
from tests.support.work import drain

SENDER = "dee.walsh@example.com"


def message(message_id: str | None, extra_headers: str = "") -> bytes:
    mid = f"Message-ID: {message_id}\r\n" if message_id else ""
    return (
        f"{extra_headers}From: Dee Walsh <{SENDER}>\r\nTo: complaints@example.org\r\n"
        f"Subject: Complaint about my exam result\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n{mid}\r\n"
        "I want to complain: my exam result was recorded wrongly and nobody has answered my letters.\r\n"
    ).encode()


@pytest.fixture
def smtp(services: Services) -> Iterator[IntakeController]:
    controller = IntakeController(services)
    controller.start()
    yield controller
    controller.stop()


def send(controller: IntakeController, raw: bytes) -> None:
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        client.sendmail(SENDER, ["complaints@example.org"], raw)


def counts(services: Services) -> tuple[int, int, int]:
    with services.store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(RawMessage)) or 0,
            session.scalar(select(func.count()).select_from(Case)) or 0,
            session.scalar(select(func.count()).select_from(Acknowledgement)) or 0,
        )


@pytest.mark.parametrize("message_id", ["<twice-1@example.com>", None], ids=["with-message-id", "no-message-id"])
def test_same_message_twice_by_smtp_gives_one_case_and_one_acknowledgement(
    services: Services, smtp: IntakeController, relay: Relay, message_id: str | None
) -> None:
    raw = message(message_id)
    send(smtp, raw)
    send(smtp, raw)
    drain(services)
    assert counts(services) == (2, 1, 1), [(r.state, r.error[-300:]) for r in stored_rows(services)]  # one case, one ack
    assert len(relay.to(SENDER)) == 1
    with services.store.session() as session:
        first, second = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
    assert second.state == "duplicate" and second.duplicate_of == first.id and second.case_id == first.case_id


def test_smtp_and_imap_copies_of_one_message_give_one_case(services: Services, smtp: IntakeController, relay: Relay) -> None:
    # the IMAP copy went through another MTA: different trace headers, same Message-ID
    send(smtp, message("<both-ways@example.com>"))
    imap_copy = message("<both-ways@example.com>", "Received: from mx.example.org by imap.example.org\r\nDelivered-To: x\r\n")
    accept(services.store, imap_copy, channel="email", mailbox="complaints@example.org", source="imap")
    drain(services)
    assert counts(services) == (2, 1, 1)
    assert len(relay.to(SENDER)) == 1


def test_later_copy_processed_first_still_gives_one_case(services: Services, relay: Relay) -> None:
    """Two workers may take the copies in either order: the earliest stored copy always owns the case."""
    raw = message("<order@example.com>")
    first = accept(services.store, raw, channel="email", mailbox="complaints@example.org", source="smtp").raw_id
    second = accept(services.store, raw, channel="email", mailbox="complaints@example.org", source="imap").raw_id
    pipeline.process(services, second)
    pipeline.process(services, first)
    pipeline.process(services, second)
    assert counts(services) == (2, 1, 1)
    assert len(relay.to(SENDER)) == 1


def test_different_messages_without_message_id_are_not_duplicates(services: Services, smtp: IntakeController) -> None:
    """The content hash only joins identical bytes: a second, different message opens its own case."""
    send(smtp, message(None))
    send(smtp, message(None).replace(b"wrongly", b"as absent"))
    drain(services)
    assert counts(services)[:2] == (2, 2)


def stored_rows(services: Services) -> list[RawMessage]:
    with services.store.session() as session:
        return list(session.scalars(select(RawMessage)))
