"""What each notice changes on a case, and the checks that refuse bad input with a clear reason.

Kept apart from the sending (gateway/notices.py) so "where is an extension checked" and "where does
escalation recount the deadline" have one short answer each. Every change runs inside the notice's
transaction and returns the plain values its template shows and the facts its record keeps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.acknowledge import TOPIC_LABELS
from gateway.policy.calendar import closing_time, is_working_day, local, working_days_between
from gateway.policy.presets import compute_deadlines
from gateway.services import Services
from gateway.store import Case, ForwardingNotice
from gateway.templating import long_date

MAX_STAGE = 3  # CIPFA: stage 1, a senior manager, then a Director
MAX_EXTENSION = timedelta(days=366)
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, CR and LF

ChangeFn = Callable[[Session, Case, datetime], "Change"]


class NoticeError(ValueError):
    """Input a person can fix (unknown reference, a date that cannot be, a last stage): says which."""


@dataclass
class Change:
    """One notice's effect: template values, facts for the record, a sentence for the person."""

    values: dict[str, Any]
    detail: dict[str, Any]
    summary: str
    forwarding: ForwardingNotice | None = field(default=None)


def check_text(name: str, value: str, limit: int, *, multiline: bool = False) -> str:
    """Staff text, refused rather than cleaned: a line break could add a mail header somewhere."""
    if not multiline and _LINE_BREAK.search(value):
        raise NoticeError(f"{name} must be one line: line breaks (CR or LF) could add a header to the mail")
    if _CONTROL.search(value):
        raise NoticeError(f"{name} must not contain control characters: they could add a header to the mail")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        raise NoticeError(f"{name} must not be empty")
    if len(value) > limit:
        raise NoticeError(f"{name} is {len(value)} characters long: the most is {limit}")
    return value


def rowcount(result: Any) -> int:
    """Rows an UPDATE matched: the guard for "only if nobody changed it meanwhile"."""
    return int(result.rowcount)


def forwarding(services: Services, to: str, contact: str) -> ChangeFn:
    """Passed to another department or organisation: recorded with who, to whom, when and why."""

    def change(session: Session, case: Case, now: datetime) -> Change:
        record = ForwardingNotice(case_id=case.id, forwarded_to=to, contact=contact, at=now)
        today = local(services.policy[1], now).date()
        values = {"forwarded_to": to, "contact": contact, "forwarded_on_long": long_date(today)}
        return Change(values, {"forwarded_to": to, "contact": contact}, f"{case.reference} forwarded to {to}", record)

    return change


def extension(services: Services, until: date) -> ChangeFn:
    """An agreed new reply date: a working day, after the current due date and today."""

    def change(session: Session, case: Case, now: datetime) -> Change:
        policy, calendar = services.policy
        today = local(calendar, now).date()
        current = local(calendar, case.reply_by) if case.reply_by else None
        if current is not None and until <= current.date():
            raise NoticeError(f"{until} is not after the current due date, {long_date(current)}: choose a later date")
        if until <= today:
            raise NoticeError(f"{until} is not after today, {long_date(today)}")
        if until - today > MAX_EXTENSION:
            raise NoticeError(f"{until} is more than a year away: check the date")
        if not is_working_day(calendar, until):
            why = calendar.holiday_name(until) or f"a {until:%A}, when the organisation is closed"
            raise NoticeError(f"{until} is not a working day ({why}): choose a working day")
        new = closing_time(calendar, until)
        case.reply_by = new
        values = {"new_date_long": long_date(until), "previous_date_long": long_date(current) if current else ""}
        detail = {
            "reply_by": new.isoformat(),
            "previous_reply_by": current.isoformat() if current else None,
            "working_days_from_now": working_days_between(calendar, now, new),
        }
        return Change(values, detail, f"{case.reference} now due by {long_date(until)}")

    return change


def escalation(services: Services) -> ChangeFn:
    """The next complaint stage; its reply target (2, 4, 15 working days) counts from now."""

    def change(session: Session, case: Case, now: datetime) -> Change:
        policy, calendar = services.policy
        if case.topic != "complaint":
            label = TOPIC_LABELS.get(case.topic, case.topic)
            raise NoticeError(f"{case.reference} is a {label}, not a complaint: only complaints have stages")
        if case.stage >= MAX_STAGE:
            raise NoticeError(f"{case.reference} is already at stage {case.stage}, the last stage: it cannot be escalated")
        old, new = case.stage, case.stage + 1
        due = compute_deadlines(policy, calendar, case.channel, case.topic, new, now)
        moved = rowcount(  # a concurrent escalation of the same case loses here, not silently
            session.execute(
                update(Case)
                .where(Case.id == case.id, Case.stage == old)
                .values(stage=new, reply_by=due.reply_by, update_due=due.update_by or case.update_due)
            )
        )
        if moved != 1:
            raise NoticeError(f"{case.reference} changed stage while escalating: look at it again")
        case.stage, case.reply_by = new, due.reply_by
        role = due.named_role or "manager"
        values = {
            "stage": new,
            "stage_role": role,
            "stage_role_article": "an" if role[:1].lower() in "aeiou" else "a",
            "last_stage": MAX_STAGE,
        }
        detail = {"stage": new, "previous_stage": old, "reply_by": due.reply_by.isoformat(), "reply_days": due.reply_days}
        return Change(values, detail, f"{case.reference} escalated to stage {new} ({role}), reply by {long_date(due.reply_by)}")

    return change


def progress(services: Services, message: str) -> ChangeFn:
    """A progress update; when the policy promises them, the next one is due from now."""

    def change(session: Session, case: Case, now: datetime) -> Change:
        policy, calendar = services.policy
        due = compute_deadlines(policy, calendar, case.channel, case.topic, case.stage, now)
        if due.update_by is not None:
            case.update_due = due.update_by
        paragraphs = [p.split("\n") for p in re.split(r"\n\s*\n", message) if p.strip()]
        values = {
            "message": message,
            "message_paragraphs": paragraphs,
            "next_update_long": long_date(due.update_by) if due.update_by else "",
        }
        detail: dict[str, Any] = {"update_due": due.update_by.isoformat() if due.update_by else None, "message": message}
        after = f", next update due by {long_date(due.update_by)}" if due.update_by else ""
        return Change(values, detail, f"progress update recorded on {case.reference}{after}")

    return change
