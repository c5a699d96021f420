"""The due dates of one message under a policy, with the reasons a person can check.

Kept apart from the preset table so that "where is the deadline counted" has one answer.
The policy types are only needed for annotations, so this module imports nothing from
presets.py (which re-exports compute_deadlines: the interface other areas code against).
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.policy.calendar import (
    NATION_NAMES,
    WorkingCalendar,
    add_working_days,
    closing_time,
    is_working_day,
    local,
    next_opening,
    next_working_day,
    receipt_day,
    skipped_days,
    working_days_between,
)

if TYPE_CHECKING:
    from gateway.policy.presets import Policy, Target


@dataclass(frozen=True)
class Deadlines:
    """When a message must be acknowledged and answered, and why."""

    acknowledge_by: datetime
    reply_by: datetime
    acknowledge_days: int
    reply_days: int  # for hour or month targets: the working days the target spans
    update_every_days: int | None
    reasons: list[str]
    update_by: datetime | None = None
    reply_hours: int | None = None
    reply_months: int | None = None
    named_role: str = ""
    terms: str = ""


def when_text(moment: datetime) -> str:
    """'Wednesday 2 December 2026 at 17:00 GMT': plain for staff and the public."""
    return f"{moment:%A} {moment.day} {moment:%B %Y} at {moment:%H:%M %Z}"


def day_text(day: date) -> str:
    """'Monday 30 November 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def _days(count: int) -> str:
    return "1 working day" if count == 1 else f"{count} working days"


def counting_terms(policy: Policy) -> str:
    """The counting convention in plain English, for the acknowledgement's terms."""
    first = (
        "The day we receive your message counts as day 1."
        if policy.count_receipt_day
        else "We start counting on the working day after we receive your message."
    )
    return (
        f"{first} A message that reaches us after closing time, or on a weekend, bank "
        "holiday or closure day, counts as received on our next working day."
    )


def _reply_by_hours(cal: WorkingCalendar, received: datetime, hours: int) -> datetime:
    """A "within 24 hours" call-back: the same time on the next working day.

    Counting starts when the organisation next opens (nobody can call back at night),
    and the due time is kept within the due day's opening hours.
    """
    start = next_opening(cal, received)
    day = start.date()
    for _ in range(hours // 24):
        day = next_working_day(cal, day)
    due = datetime.combine(day, start.timetz())
    return min(due, closing_time(cal, day))


def _reply_by_months(cal: WorkingCalendar, received: datetime, months: int) -> datetime:
    """A statutory month (UK GDPR, as the ICO counts it): that date a month later.

    The clock runs from the calendar date of receipt whatever the hour; with no such
    date (31 January + 1 month) the month's last day is used; a day off moves it to the
    next working day.
    """
    start = local(cal, received).date()
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last = month_calendar.monthrange(year, month)[1]
    due = date(year, month, min(start.day, last))
    if not is_working_day(cal, due):
        due = next_working_day(cal, due)
    return closing_time(cal, due)


def _update_by(cal: WorkingCalendar, received: datetime, days: int) -> datetime:
    """First progress update: `days` calendar days on, pulled back to a working day.

    Pulled back, not pushed on, because the promise is "at least every two weeks".
    """
    due = local(cal, received).date() + timedelta(days)
    while not is_working_day(cal, due) and due > local(cal, received).date():
        due -= timedelta(1)
    if not is_working_day(cal, due):
        due = next_working_day(cal, due)
    return closing_time(cal, due)


def _receipt_reason(cal: WorkingCalendar, received: datetime) -> str:
    """Say on which working day the message counts as received, and why."""
    when = local(cal, received)
    counted = receipt_day(cal, received)
    text = f"Received {when_text(when)}"
    if counted == when.date():
        return f"{text}: a working day before closing time, so counted as that day."
    why = cal.holiday_name(when.date())
    if why is None and cal.opening_hours[when.weekday()] is None:
        why = f"a {when:%A}, when the organisation is closed"
    elif why is None:
        closes = cal.opening_hours[when.weekday()]
        assert closes is not None
        why = f"after closing time ({closes[1]:%H:%M})"
    return f"{text}, {why}: counted as received on {day_text(counted)}."


def compute_deadlines(
    policy: Policy,
    cal: WorkingCalendar,
    channel: str,
    topic: str | None,
    stage: int | None,
    received: datetime,
) -> Deadlines:
    """Count the acknowledgement, reply and first update deadlines for one message.

    For a complaint that moves to a later stage, pass the moment it was escalated as
    `received`: each stage's target runs from the start of that stage.
    """
    target: Target = policy.target(channel, topic, stage)
    counting = policy.count_receipt_day
    ack_by = add_working_days(cal, received, target.acknowledge_days, count_receipt_day=counting)
    if target.reply_hours is not None:
        reply_by = _reply_by_hours(cal, received, target.reply_hours)
    elif target.reply_months is not None:
        reply_by = _reply_by_months(cal, received, target.reply_months)
    else:
        reply_by = add_working_days(cal, received, target.reply_days or 0, count_receipt_day=counting)
    update_by = None
    if target.update_every_days:
        update_by = _update_by(cal, received, target.update_every_days)
    selector = ", ".join(
        part
        for part in (
            f"channel {channel}",
            topic and f"topic {topic}",
            stage and f"stage {stage}",
        )
        if part
    )
    reasons = [
        _receipt_reason(cal, received),
        f"Preset {policy.name} ({policy.title}) for {selector}: acknowledge within "
        f"{_days(target.acknowledge_days)}, reply within {target.reply_text()}; "
        f"named: {target.named_role}.",
        *(f"Rule: {source}" for source in target.sources),
        "Counting: " + counting_terms(policy),
        f"Working days: {NATION_NAMES[cal.nation]} bank holidays, weekends and closure "
        "days are skipped; a deadline falls at closing time on its day.",
    ]
    start = local(cal, received).date()
    for day, name in skipped_days(cal, start, max(ack_by, reply_by).date()):
        reasons.append(f"Skipped {day_text(day)}: {name}.")
    reasons.append(f"Acknowledge by {when_text(ack_by)}.")
    if target.reply_months is not None:
        reasons.append(
            f"The reply target is a calendar month from the date of receipt ({day_text(start)}), whatever the hour "
            "or day; a due date on a day off moves to the next working day."
        )
    elif target.reply_hours is not None:
        reasons.append(f"The {target.reply_hours} hours run from the next opening, {when_text(next_opening(cal, received))}.")
    reasons.append(f"Reply by {when_text(reply_by)}.")
    if update_by is not None:
        reasons.append(f"Progress update at least every {target.update_every_days} days: first by {when_text(update_by)}.")
    return Deadlines(
        acknowledge_by=ack_by,
        reply_by=reply_by,
        acknowledge_days=target.acknowledge_days,
        reply_days=(target.reply_days if target.reply_days is not None else working_days_between(cal, received, reply_by)),
        update_every_days=target.update_every_days,
        reasons=reasons,
        update_by=update_by,
        reply_hours=target.reply_hours,
        reply_months=target.reply_months,
        named_role=target.named_role,
        terms=" ".join(part for part in (target.terms, counting_terms(policy)) if part),
    )
