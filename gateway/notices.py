"""Notices to the requester: forwarded, timescale extended, escalated a stage, progress update.

Each public function validates, changes the case, records the notice (who, when, why, new dates)
and renders it in one store transaction, then sends it once. The rendered bytes are stored before
sending, so a retry sends exactly what was recorded, and the pending -> sending claim means one
notice is never sent twice. The policies behind them: CSSC "you will be notified if your email has
been forwarded to another department or third-party contact" and "an agreed timescale" for complex
issues; CIPFA's three complaint stages (senior manager, then Director); Autus "progress updates at
least every 2 weeks". A notice goes to the requester only, never to a team or the other
organisation, so a safeguarding case's notices reach nobody but the requester and the case record.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import notice_changes
from gateway.mail.outbound import SendError, send
from gateway.notice_changes import MAX_STAGE, Change, NoticeError, check_text, rowcount
from gateway.notice_mail import compose, new_message_id
from gateway.services import Services
from gateway.store import Case, CaseEvent
from gateway.store.models import Notice

__all__ = [
    "MAX_STAGE",
    "NoticeError",
    "NoticeResult",
    "escalate",
    "extend",
    "forward",
    "progress_update",
    "send_notice",
    "send_pending",
]

log = logging.getLogger("frontdesk.notices")


@dataclass(frozen=True)
class NoticeResult:
    """What a notice command did, for the CLI (and later the staff pages) to say."""

    notice_id: int
    reference: str
    kind: str
    state: str  # sent, pending (the relay failed: retried later), not_sent (nobody to send to)
    recipient: str
    summary: str
    repeated: bool = False  # the idempotency key was used before: nothing new was recorded
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def forward(
    services: Services, reference: str, *, to: str, contact: str, reason: str, by: str, key: str | None = None
) -> NoticeResult:
    """Record that the case was passed to another department or organisation, and tell the requester."""
    to, contact = check_text("--to", to, 300), check_text("--contact", contact, 1000)
    return _notice(services, reference, "forwarded", by, reason, key, notice_changes.forwarding(services, to, contact))


def extend(services: Services, reference: str, *, until: date, reason: str, by: str, key: str | None = None) -> NoticeResult:
    """Agree a new reply date for a complex case: a working day after the current due date."""
    return _notice(services, reference, "extended", by, reason, key, notice_changes.extension(services, until))


def escalate(services: Services, reference: str, *, reason: str, by: str, key: str | None = None) -> NoticeResult:
    """Move a complaint to its next stage; the new stage's target runs from now."""
    return _notice(services, reference, "escalated", by, reason, key, notice_changes.escalation(services))


def progress_update(services: Services, reference: str, *, message: str, by: str, key: str | None = None) -> NoticeResult:
    """Send the requester a progress update written by staff; set when the next one is due."""
    message = check_text("--message", message, 5000, multiline=True)
    return _notice(services, reference, "progress", by, "progress update", key, notice_changes.progress(services, message))


def _notice(
    services: Services,
    reference: str,
    kind: str,
    by: str,
    reason: str,
    key: str | None,
    change: Callable[[Session, Case, datetime], Change],
) -> NoticeResult:
    """Record the notice in one transaction, then send it; a repeated key returns the first one."""
    by, reason = check_text("--by", by, 200), check_text("--reason", reason, 2000)
    key = check_text("--key", key, 100) if key is not None else None
    reference = reference.strip().upper()
    try:
        found = _by_key(services, reference, kind, key) if key is not None else None
        notice_id, summary, repeated = found or _record(services, reference, kind, by, reason, key, change)
    except IntegrityError:  # another call with the same key committed first: that one is the notice
        found = _by_key(services, reference, kind, key) if key is not None else None
        if found is None:
            raise
        notice_id, summary, repeated = found
    error = ""
    try:
        send_notice(services, notice_id)
    except SendError as exc:
        error = f"sending failed, the notice stays pending and is retried: {exc}"
    with services.store.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        result = NoticeResult(notice_id, reference, kind, notice.state, notice.recipient, summary, repeated, error, notice.detail)
    again = " (repeated key)" if repeated else ""
    log.info("notice %s id=%d case=%s state=%s%s", kind, notice_id, reference, result.state, again)
    return result


def _load_case(session: Session, reference: str) -> Case:
    """The case, locked for this transaction on PostgreSQL (SQLite serialises writers anyway)."""
    case = session.scalar(select(Case).where(Case.reference == reference).with_for_update())
    if case is None:
        raise NoticeError(f"no case with reference {reference!r}")
    return case


def _by_key(services: Services, reference: str, kind: str, key: str | None) -> tuple[int, str, bool] | None:
    """The notice an idempotency key already made (None: not used yet); refused for another case or kind."""
    with services.store.session() as session:
        notice = session.scalar(select(Notice).where(Notice.idempotency_key == key))
        case = session.get(Case, notice.case_id) if notice is not None else None
        if notice is None or case is None:
            return None
        if case.reference != reference or notice.kind != kind:
            raise NoticeError(f"the key {key!r} was already used for a {notice.kind} notice on {case.reference}")
        return notice.id, str(notice.detail.get("summary", "")), True


def _record(
    services: Services,
    reference: str,
    kind: str,
    by: str,
    reason: str,
    key: str | None,
    change: Callable[[Session, Case, datetime], Change],
) -> tuple[int, str, bool]:
    """Validate, change the case, record and render the notice: all or nothing."""
    now = datetime.now(UTC)
    with services.store.session() as session, session.begin():
        case = _load_case(session, reference)
        if case.status != "open":
            raise NoticeError(f"{reference} is {case.status}: notices are only sent on open cases")
        made = change(session, case, now)
        made.values.update(reason=reason, by=by)
        team = services.config.teams.get(case.queue)
        why_not = ""
        if not case.requester_email or "@" not in case.requester_email:
            why_not = "anonymous case: there is no address to send it to"
        elif team is not None and not team.acknowledge:
            why_not = f"queue {case.queue} is never answered"
        message_id = new_message_id(services, case, kind, uuid.uuid4().hex[:16])
        detail = {**made.detail, "summary": made.summary, "at": now.isoformat()}
        if why_not:
            detail["not_sent"] = why_not
        notice = Notice(
            case_id=case.id,
            kind=kind,
            idempotency_key=key,
            recipient="" if why_not else case.requester_email,
            message_id=message_id,
            state="not_sent" if why_not else "pending",
            by=by,
            reason=reason,
            detail=detail,
            created_at=now,
        )
        if not why_not:
            notice.rendered, notice.template_version = compose(services, session, case, kind, made.values, message_id, now)
        session.add(notice)
        session.flush()
        if made.forwarding is not None:
            made.forwarding.notice_id, made.forwarding.notice_message_id = notice.id, message_id
            made.forwarding.forwarded_by, made.forwarding.reason, made.forwarding.at = by, reason, now
            session.add(made.forwarding)
        event = {"notice_id": notice.id, "by": by, "why": reason, **made.detail}
        event["to"] = notice.recipient or f"nobody ({why_not})"
        session.add(CaseEvent(case_id=case.id, at=now, kind=kind, detail=event))
        summary = made.summary + (f"; notice not sent: {why_not}" if why_not else "")
        notice.detail = {**detail, "summary": summary}
        return notice.id, summary, False


def send_notice(services: Services, notice_id: int) -> bool:
    """Send a pending notice once: claim it, send the stored bytes, mark it sent.

    False when there was nothing to do (already sent, being sent, or never to be sent).
    Raises SendError when the relay failed; the notice is pending again for a later try.
    """
    config = services.config
    with services.store.session() as session, session.begin():
        claimed = rowcount(
            session.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.state == "pending")
                .values(state="sending", claimed_at=datetime.now(UTC), attempts=Notice.attempts + 1)
            )
        )
        if not claimed:
            return False
        notice = session.get(Notice, notice_id)
        assert notice is not None
        recipient, rendered, case_id, kind = notice.recipient, notice.rendered, notice.case_id, notice.kind
    try:
        where = send(config.relay, config.outbox_dir, config.from_address, [recipient], rendered)
    except SendError as exc:
        with services.store.session() as session, session.begin():
            session.execute(update(Notice).where(Notice.id == notice_id).values(state="pending", error=str(exc)[:2000]))
        raise
    with services.store.session() as session, session.begin():
        session.execute(update(Notice).where(Notice.id == notice_id).values(state="sent", sent_at=datetime.now(UTC), error=""))
        detail = {"notice_id": notice_id, "kind": kind, "to": recipient, "via": where}
        session.add(CaseEvent(case_id=case_id, kind="notice_sent", detail=detail))
    return True


def send_pending(services: Services, stale: timedelta = timedelta(minutes=5), limit: int = 200) -> int:
    """For the sweeper: put back notices a dead sender left `sending`, then send what is pending."""
    now = datetime.now(UTC)
    with services.store.session() as session, session.begin():
        session.execute(update(Notice).where(Notice.state == "sending", Notice.claimed_at < now - stale).values(state="pending"))
        pending = list(session.scalars(select(Notice.id).where(Notice.state == "pending").order_by(Notice.id).limit(limit)))
    sent = 0
    for notice_id in pending:
        try:
            sent += send_notice(services, notice_id)
        except SendError as exc:
            log.warning("notice id=%d not sent, will retry: %s", notice_id, exc)
    return sent
