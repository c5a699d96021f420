"""Issue 3 part 6: forwarding, extension, escalation and progress notices, sent once through a real relay."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gateway import notices
from gateway.mail.smtp import IntakeController
from gateway.notices import NoticeError
from gateway.policy.calendar import is_working_day, local
from gateway.policy.presets import compute_deadlines, policy_from_config
from gateway.services import Services
from gateway.store import Acknowledgement, Case, CaseEvent, ForwardingNotice
from gateway.store.models import Notice
from gateway.templating import long_date
from tests.conftest import free_port
from tests.notice_support import (
    REQUESTER,
    anonymous_complaint,
    body,
    first_bank_holiday,
    open_case,
    safeguarding_concern,
    start_smtp,
)
from tests.notice_support import notices as received_notices
from tests.support.relay import Relay


@pytest.fixture
def smtp(services: Services) -> Iterator[IntakeController]:
    yield from start_smtp(services)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_forward_sends_one_notice_naming_the_organisation_and_records_it(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    case = open_case(services, smtp, relay)
    before = datetime.now(UTC)
    result = notices.forward(
        services,
        case.reference or "",
        to="Citizens Advice Westminster",
        contact="0800 144 8848 or advice@westminster-cab.example",
        reason="They handle disputes about benefit payments",
        by="Tom Evans",
    )
    assert result.state == "sent" and result.recipient == REQUESTER
    sent = received_notices(relay, "forwarded")
    assert len(sent) == 1 and sent[0].rcpt_tos == [REQUESTER]
    mail, text = sent[0].message, body(sent[0])
    assert case.reference in mail["Subject"] and "Citizens Advice Westminster" in mail["Subject"]
    assert "Citizens Advice Westminster" in text and "0800 144 8848 or advice@westminster-cab.example" in text
    assert "They handle disputes about benefit payments" in text and "Tom Evans" in text
    with services.store.session() as session:
        ack = session.scalars(select(Acknowledgement)).one()
        row = session.scalars(select(ForwardingNotice)).one()
        notice = session.get(Notice, result.notice_id)
        events = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert mail["Auto-Submitted"] == "auto-replied" and mail["Reply-To"] == "complaints@example.org"
    assert mail["In-Reply-To"] == ack.message_id and ack.message_id in mail["References"]
    assert notice is not None and mail["Message-ID"] == notice.message_id and notice.state == "sent"
    assert sent[0].data.rstrip(b"\r\n") == notice.rendered.rstrip(b"\r\n")  # the stored bytes are what went out
    assert (row.forwarded_to, row.forwarded_by, row.notice_id) == ("Citizens Advice Westminster", "Tom Evans", notice.id)
    assert row.contact.startswith("0800") and row.reason == "They handle disputes about benefit payments"
    assert before <= utc(row.at) <= datetime.now(UTC)
    assert events[-2:] == ["forwarded", "notice_sent"]


def test_extension_names_the_new_date_and_refuses_bad_dates(services: Services, smtp: IntakeController, relay: Relay) -> None:
    case = open_case(services, smtp, relay)
    _, cal = services.policy
    current = local(cal, case.reply_by).date()
    new_day = current + timedelta(days=5)
    while new_day.weekday() != 2 or not is_working_day(cal, new_day):  # a Wednesday, as in the issue
        new_day += timedelta(days=1)
    with pytest.raises(NoticeError, match="not after the current due date"):
        notices.extend(services, case.reference or "", until=current, reason="Complex", by="Tom Evans")
    holiday = first_bank_holiday(cal, current)
    with pytest.raises(NoticeError, match="not a working day .*bank holiday"):
        notices.extend(services, case.reference or "", until=holiday, reason="Complex", by="Tom Evans")
    result = notices.extend(
        services, case.reference or "", until=new_day, reason="We need records from our payments provider", by="Tom Evans"
    )
    assert result.state == "sent"
    sent = received_notices(relay, "extended")
    assert len(sent) == 1 and long_date(new_day) in body(sent[0]) and long_date(new_day) in sent[0].message["Subject"]
    if new_day == date(2026, 12, 2):
        assert "Wednesday 2 December 2026" in body(sent[0])
    with services.store.session() as session:
        stored = session.get(Case, case.id)
        assert stored is not None and local(cal, stored.reply_by).date() == new_day
        assert session.scalar(select(func.count()).select_from(Notice)) == 1  # the refusals recorded nothing


def test_escalation_to_stage_2_then_3_then_refused(services: Services, smtp: IntakeController, relay: Relay) -> None:
    case = open_case(services, smtp, relay)
    policy, cal = services.policy
    for stage, days, role in ((2, 4, "senior manager"), (3, 15, "director")):
        result = notices.escalate(services, case.reference or "", reason="Not satisfied with the answer", by="Priya Shah")
        assert result.state == "sent" and result.detail["reply_days"] == days
        with services.store.session() as session:
            stored = session.get(Case, case.id)
            event = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalated").order_by(CaseEvent.id.desc())).first()
        assert stored is not None and event is not None and stored.stage == stage
        expected = compute_deadlines(policy, cal, "email", "complaint", stage, utc(event.at)).reply_by
        assert local(cal, stored.reply_by) == expected
        sent = received_notices(relay, "escalated", count=stage - 1)[-1]
        assert f"stage {stage}" in body(sent) and role in body(sent) and long_date(expected) in body(sent)
    with pytest.raises(NoticeError, match="already at stage 3"):
        notices.escalate(services, case.reference or "", reason="Still not satisfied", by="Priya Shah")
    assert len(received_notices(relay, "escalated", count=2)) == 2


def test_progress_update_is_sent_recorded_and_sets_the_next_update(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    tables = {"organisation": dict(services.config.organisation), "policy": {"overrides": {"update_every_days": 14}}}
    services.__dict__["policy"] = policy_from_config(tables)  # a policy that promises updates every 2 weeks
    case = open_case(services, smtp, relay)
    message = "We have asked our payments provider for the records.\n\nWe expect them next week."
    result = notices.progress_update(services, case.reference or "", message=message, by="Tom Evans")
    sent = received_notices(relay, "progress")
    assert result.state == "sent" and len(sent) == 1
    assert "We have asked our payments provider" in body(sent[0]) and "We expect them next week." in body(sent[0])
    with services.store.session() as session:
        stored = session.get(Case, case.id)
        event = session.scalars(select(CaseEvent).where(CaseEvent.kind == "progress")).one()
    assert stored is not None and stored.update_due is not None and event.detail["by"] == "Tom Evans"
    _, cal = services.policy
    next_update = local(cal, stored.update_due)
    assert 10 <= (next_update.date() - local(cal, utc(event.at)).date()).days <= 14
    assert long_date(next_update) in body(sent[0])


def test_same_key_or_resending_sends_one_mail(services: Services, smtp: IntakeController, relay: Relay) -> None:
    case = open_case(services, smtp, relay)
    ref = case.reference or ""
    first = notices.forward(services, ref, to="Membership team", contact="membership@example.org", reason="R", by="A", key="k-1")
    again = notices.forward(services, ref, to="Membership team", contact="membership@example.org", reason="R", by="A", key="k-1")
    assert again.repeated and again.notice_id == first.notice_id and again.state == "sent"
    assert notices.send_notice(services, first.notice_id) is False
    assert notices.send_pending(services) == 0
    with pytest.raises(NoticeError, match="already used"):
        notices.escalate(services, ref, reason="R", by="A", key="k-1")
    assert len(received_notices(relay, "forwarded")) == 1
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(ForwardingNotice)) == 1


def test_relay_down_keeps_the_notice_pending_and_sends_it_once_later(
    services: Services, smtp: IntakeController, relay: Relay
) -> None:
    case = open_case(services, smtp, relay)
    good = services.config
    services.config = dataclasses.replace(good, relay=f"smtp://127.0.0.1:{free_port()}")
    result = notices.escalate(services, case.reference or "", reason="Not satisfied", by="Priya Shah")
    assert result.state == "pending" and "retried" in result.error
    services.config = good
    assert notices.send_pending(services) == 1
    assert notices.send_pending(services) == 0
    assert len(received_notices(relay, "escalated")) == 1


@pytest.mark.parametrize("field", ["to", "reason", "contact", "by"])
def test_header_injection_is_refused(services: Services, smtp: IntakeController, relay: Relay, field: str) -> None:
    case = open_case(services, smtp, relay)
    values = {"to": "Citizens Advice", "contact": "0800 144 8848", "reason": "Benefits", "by": "Tom Evans"}
    values[field] = "Citizens Advice\r\nBcc: victim@example.net"
    with pytest.raises(NoticeError, match="line breaks"):
        notices.forward(services, case.reference or "", **values)
    with services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0
    assert len(relay.received) == 1  # the acknowledgement only


def test_anonymous_case_records_the_notice_but_sends_nothing(services: Services, smtp: IntakeController, relay: Relay) -> None:
    case = open_case(services, smtp, relay, anonymous_complaint())
    assert not case.requester_email
    result = notices.forward(services, case.reference or "", to="Citizens Advice", contact="0800 144 8848", reason="B", by="T")
    update = notices.progress_update(services, case.reference or "", message="Still looking", by="T")
    assert result.state == update.state == "not_sent" and "anonymous" in result.summary
    assert relay.received == []
    with services.store.session() as session:
        assert session.scalars(select(ForwardingNotice)).one().forwarded_to == "Citizens Advice"
        assert {e.kind for e in session.scalars(select(CaseEvent))} >= {"forwarded", "progress"}
        assert "notice_sent" not in {e.kind for e in session.scalars(select(CaseEvent))}


def test_safeguarding_notices_go_to_the_requester_only(services: Services, smtp: IntakeController, relay: Relay) -> None:
    case = open_case(services, smtp, relay, safeguarding_concern())
    assert case.queue == "safeguarding"
    with pytest.raises(NoticeError, match="not a complaint"):
        notices.escalate(services, case.reference or "", reason="R", by="Helen Fraser")
    result = notices.forward(
        services,
        case.reference or "",
        to="the Local Authority Designated Officer",
        contact="lado@council.example, 020 7946 0999",
        reason="Concerns about adults working with children go to the LADO",
        by="Helen Fraser",
    )
    assert result.state == "sent"
    assert len(received_notices(relay, "forwarded")) == 1
    assert all(r.rcpt_tos == [REQUESTER] for r in relay.received)  # not the LADO, not any team
    with pytest.raises(NoticeError, match="no case with reference"):
        notices.escalate(services, "CS-2026-999999", reason="R", by="A")
