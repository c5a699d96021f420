"""Compose a notice (forwarded, extended, escalated, progress) from templates/notices/.

A notice is the same kind of mail as the acknowledgement and is built the same way: the
acknowledgement's context (gateway/acknowledge.py) plus the notice's own plain values, rendered in
the sandbox, with the same headers: the reference in the subject, Auto-Submitted: auto-replied,
threaded under the acknowledgement (or the first message), our own Message-ID, Reply-To the mailbox.
Headers go through EmailMessage, which refuses CR or LF in a value, so no text can add a header.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import acknowledge
from gateway.acknowledge import domain_of, one_line
from gateway.assign import Assignment, away, cached_absences
from gateway.config import Handler
from gateway.mail.parse import parse
from gateway.policy.calendar import local
from gateway.policy.presets import compute_deadlines
from gateway.services import Services
from gateway.store import Acknowledgement, Case, RawMessage
from gateway.templating import long_date, render_file, template_version

KINDS = ("forwarded", "extended", "escalated", "progress")


def handler_now(services: Services, case: Case, today: date) -> Assignment:
    """The case's handler as the acknowledgement names them, with today's absence if any.

    The handler was chosen when the case opened; a notice names the same person, and their
    alternative contact while they are away, just as the acknowledgement would today.
    """
    absences = cached_absences(services.config.queue_dir, services.cache)
    handler = Handler(case.handler_name, case.handler_role, case.handler_email)
    gone = away(absences, case.handler_name, today)
    if gone is None:
        return Assignment(handler)
    return Assignment(handler, away_until=gone.back_on, alternative=gone.alternative)


def context(services: Services, case: Case, now: datetime, values: dict[str, Any]) -> dict[str, Any]:
    """The acknowledgement's context for the case as it is now, plus the notice's own values.

    Deadlines are recounted for the case's current stage from `now` only for the wording of the
    terms; the due dates shown are the ones stored on the case (an extension or escalation has
    already changed them in this transaction).
    """
    policy, calendar = services.policy
    due = compute_deadlines(policy, calendar, case.channel, case.topic, case.stage, now)
    base = acknowledge.context(services, case, handler_now(services, case, local(calendar, now).date()), due)
    reply_by = local(calendar, case.reply_by) if case.reply_by else None
    base.update(
        reply_by=reply_by,
        reply_by_long=long_date(reply_by) if reply_by else "",
        acknowledge_by=local(calendar, case.acknowledge_by) if case.acknowledge_by else None,
        stage=case.stage,
    )
    base.update(values)
    return base


def thread_ids(session: Session, case: Case) -> tuple[str, list[str]]:
    """In-Reply-To and References: the acknowledgement if we sent one, else the first message."""
    first = session.get(RawMessage, case.first_message_id)
    first_id = parse(first.raw).message_id if first is not None else ""
    ack_id = session.scalar(select(Acknowledgement.message_id).where(Acknowledgement.case_id == case.id)) or ""
    references = [i for i in (first_id, ack_id) if i]
    return (references[-1] if references else ""), references


def reply_to(services: Services, session: Session, case: Case) -> str:
    """The mailbox the case came in through (as the acknowledgement), else its team's address."""
    config = services.config
    team = config.teams[case.queue]
    first = session.get(RawMessage, case.first_message_id)
    if first is not None and config.mailbox(first.mailbox) and not team.restricted:
        return first.mailbox
    return team.address  # a restricted case's replies reach its team alone


def new_message_id(services: Services, case: Case, kind: str, token: str) -> str:
    """Our own Message-ID for a notice: a reply to it finds the case by the reference."""
    return f"<{kind}.{case.reference}.{token}@{domain_of(services.config.from_address)}>"


def compose(
    services: Services, session: Session, case: Case, kind: str, values: dict[str, Any], message_id: str, now: datetime
) -> tuple[bytes, str]:
    """Render notice `kind` for the case's requester; returns (the bytes to send, template version)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    config = services.config
    root = config.templates_dir / "notices"
    names = (f"{kind}.subject.txt", f"{kind}.txt", f"{kind}.html")
    ctx = context(services, case, now, values)
    in_reply_to, references = thread_ids(session, case)
    mail = EmailMessage()
    mail["From"] = formataddr((one_line(str(config.organisation.get("name", "")), 100), config.from_address))
    mail["To"] = formataddr((acknowledge.display_name(case.requester_name), case.requester_email))
    mail["Subject"] = one_line(render_file(root, names[0], ctx), 250)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id
    mail["Reply-To"] = reply_to(services, session, case)
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Frontdesk-Notice"] = kind
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = " ".join(references)
    mail.set_content(render_file(root, names[1], ctx))
    mail.add_alternative(render_file(root, names[2], ctx), subtype="html")
    return mail.as_bytes(policy=SMTP_POLICY), template_version(root, *names)
