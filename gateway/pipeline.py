"""The intake pipeline, top to bottom: one stored message in, one case (or a follow-up) out.

    stored raw message
      -> parse                      gateway/mail/parse.py
      -> duplicate?                 same Message-ID (or content hash) already has a case
      -> follow-up?                 reference in the subject, or a reply to one of our messages
      -> hygiene                    gateway/hygiene.py: a machine wrote it -> no acknowledgement
      -> classify                   gateway/classify: topic, secondary topics, reasons
      -> route                      queue/routing.toml: topic -> team queue
      -> assign                     gateway/assign.py: handler, absences
      -> deadlines                  gateway/policy: working days, the organisation's nation
      -> acknowledgement rendered   gateway/acknowledge.py, held in the same commit (worker path)
    then deliver                    gateway/delivery.py: send the acknowledgement once, mark the
                                    message done, hand the routed work to the team's RQ queue

`open_case` only touches the store and is idempotent (the case is unique per first message, the
acknowledgement unique per case), so a job run twice, or killed half-way, ends in the same state.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import jobs
from gateway.assign import assign, cached_absences
from gateway.bounces import link_bounce
from gateway.classify import Classification, classify
from gateway.delivery import deliver, render_acknowledgement
from gateway.hygiene import automatic_reasons
from gateway.intake import accept
from gateway.mail.parse import ParsedMessage, parse
from gateway.policy.calendar import local
from gateway.policy.presets import compute_deadlines
from gateway.services import Services
from gateway.store import Acknowledgement, Case, CaseEvent, Notice, RawMessage, Routing

log = logging.getLogger("frontdesk.pipeline")

REFERENCE = re.compile(r"\b([A-Z]{2,5})-(\d{4})-(\d{6})\b")
ACK_LIMIT_PER_DAY = 3


@dataclass(frozen=True)
class CaseFacts:
    """What the confirmation page and the logs need to know about a case."""

    case_id: int
    reference: str
    topic: str
    queue: str
    handler_name: str
    handler_role: str
    acknowledge_by: datetime | None
    reply_by: datetime | None
    acknowledge: bool
    fresh: bool = False  # opened by this call (not found from an earlier run)


def facts(case: Case, *, fresh: bool = False) -> CaseFacts:
    return CaseFacts(
        fresh=fresh,
        case_id=case.id,
        reference=case.reference or "",
        topic=case.topic,
        queue=case.queue,
        handler_name=case.handler_name,
        handler_role=case.handler_role,
        acknowledge_by=case.acknowledge_by,
        reply_by=case.reply_by,
        acknowledge=case.acknowledge,
    )


def form_answers(raw: RawMessage, msg: ParsedMessage) -> dict[str, str] | None:
    """The web form's answers, trusted only when the form itself stored the message."""
    if raw.source != "form":
        return None
    prefix = "x-frontdesk-form-"
    return {name[len(prefix) :]: value for name, value in msg.headers if name.startswith(prefix)}


def dedupe_key(raw: RawMessage) -> str:
    return raw.message_id[:1000] if raw.message_id else f"sha256:{raw.content_hash}"


def find_duplicate(session: Session, raw: RawMessage) -> RawMessage | None:
    """Another stored copy of the same message (delivered twice, or by SMTP and IMAP) that came first
    or already has the case."""
    same = RawMessage.message_id == raw.message_id if raw.message_id else RawMessage.content_hash == raw.content_hash
    return session.scalar(
        select(RawMessage)
        .where(same, RawMessage.id != raw.id, or_(RawMessage.id < raw.id, RawMessage.case_id.is_not(None)))
        .order_by(RawMessage.case_id.is_(None), RawMessage.id)
        .limit(1)
    )


def find_case_for_reply(session: Session, msg: ParsedMessage) -> Case | None:
    """A follow-up: a reference of ours in the subject, or a reply to a message we sent."""
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if ids:
        for sent in (Acknowledgement, Notice):  # a reply to any message we sent about a case
            case_id = session.scalar(select(sent.case_id).where(sent.message_id.in_(ids)).limit(1))
            if case_id is not None:
                return session.get(Case, case_id)
    for match in REFERENCE.finditer(msg.subject):
        case = session.scalar(select(Case).where(Case.reference == match.group(0)))
        if case is not None:
            return case
    return None


def make_reference(prefix: str, case: Case) -> str:
    return f"{prefix}-{case.created_at.year}-{case.id:06d}"


def ack_limit(services: Services) -> int:
    return int(services.config.extra.get("hygiene", {}).get("acknowledgements_per_sender_per_day", ACK_LIMIT_PER_DAY))


def over_sender_limit(session: Session, recipient: str, now: datetime, limit: int = ACK_LIMIT_PER_DAY) -> bool:
    """At most `limit` acknowledgements to one address in 24 hours: no mail loops."""
    sent = session.scalar(
        select(func.count())
        .select_from(Acknowledgement)
        .where(Acknowledgement.recipient == recipient, Acknowledgement.created_at > now - timedelta(hours=24))
    )
    return (sent or 0) >= limit


def open_case(services: Services, raw_id: int, *, hold_ack: bool = False) -> CaseFacts | None:
    """Decide everything about one stored message (see `_open_case`); a lost race is decided again.

    Two workers on two copies of one message, or on one message twice, can both get as far as
    inserting; the database's unique keys let one win, and the other's second look finds its case.
    """
    try:
        return _open_case(services, raw_id, hold_ack=hold_ack)
    except IntegrityError:
        return _open_case(services, raw_id, hold_ack=hold_ack)


def _open_case(services: Services, raw_id: int, *, hold_ack: bool = False) -> CaseFacts | None:
    """Decide everything about one stored message and commit it; None when no new case was opened.

    The acknowledgement is decided here (Case.acknowledge). With `hold_ack` (the worker's path) it
    is also rendered in the same transaction and held (`sending`) for the caller to send; the web
    form leaves that to the worker, to answer the person sooner.
    """
    with services.store.session() as session, session.begin():
        raw = session.get(RawMessage, raw_id)
        if raw is None:
            raise LookupError(f"raw message {raw_id} is not in the store")
        if raw.case_id is not None:
            case = session.get(Case, raw.case_id)
            return facts(case) if case is not None and case.first_message_id == raw.id else None
        if raw.state in ("duplicate", "failed"):
            return None
        msg = parse(raw.raw)
        earlier = find_duplicate(session, raw)
        if earlier is not None:
            raw.state, raw.duplicate_of, raw.case_id = "duplicate", earlier.id, earlier.case_id
            return None
        if link_bounce(session, raw, msg, services.config.own_addresses()) is not None:
            return None  # a bounce of our acknowledgement: that case is flagged, no new case
        result = None
        existing = find_case_for_reply(session, msg)
        if existing is not None:
            result = join_or_split(services, session, raw, msg, existing)
            if result is None:
                return None
        case = _new_case(services, session, raw, msg, result)
        if existing is not None:
            session.add(CaseEvent(case_id=case.id, kind="split_from", detail={"reference": existing.reference}))
        if hold_ack and case.acknowledge:
            ack = render_acknowledgement(services, session, case, raw, msg)
            ack.state, ack.claimed_at, ack.attempts = "sending", datetime.now(UTC), 1
            session.add(ack)
        return facts(case, fresh=True)


def join_or_split(
    services: Services, session: Session, raw: RawMessage, msg: ParsedMessage, existing: Case
) -> Classification | None:
    """A reply joins its case, unless it raises something that must go elsewhere.

    A new safeguarding concern (or abuse of staff) written as a reply to, say, a membership case
    must reach its own team, not the membership queue: it opens a case of its own (and the
    classification is returned for it). A machine's reply (an out-of-office answer to our
    acknowledgement) joins the case on record but is not sent to the team.
    """
    config = services.config
    machine = automatic_reasons(msg, config.own_addresses())
    result = None
    if not machine:
        result = classify(msg, channel=raw.channel, form=form_answers(raw, msg), rules=services.rules,
                          own_addresses=config.own_addresses())
        team = config.teams[config.queue_for(result.topic)]
        if team.name != existing.queue and (team.restricted or not team.acknowledge):
            return result
    raw.case_id = existing.id
    detail = {"raw_message_id": raw.id, "automatic": machine}
    session.add(CaseEvent(case_id=existing.id, kind="follow_up", detail=detail))
    if not machine:
        session.add(Routing(raw_message_id=raw.id, case_id=existing.id, queue=existing.queue, kind="follow_up"))
    return None


def _new_case(
    services: Services, session: Session, raw: RawMessage, msg: ParsedMessage, result: Classification | None = None
) -> Case:
    config = services.config
    now = datetime.now(UTC)
    received = raw.received_at if raw.received_at.tzinfo else raw.received_at.replace(tzinfo=UTC)
    form = form_answers(raw, msg)
    if result is None:
        result = classify(msg, channel=raw.channel, form=form, rules=services.rules, own_addresses=config.own_addresses())
    queue = config.queue_for(result.topic)
    team = config.teams[queue]
    absences = cached_absences(config.queue_dir, services.cache)
    who = assign(session, team, absences, local(services.policy[1], received).date())
    policy, calendar = services.policy
    due = compute_deadlines(policy, calendar, raw.channel, result.topic, 1, received)
    requester_name, requester_email = msg.from_name, msg.from_addr
    no_ack = automatic_reasons(msg, config.own_addresses())
    if form is not None:  # the form's answers say who the person is and how they want a reply
        no_ack = []
        requester_name, requester_email = form.get("name", ""), form.get("email", "").lower()
        if form.get("reply", "email") != "email":
            no_ack.append(f"asked for a reply by {form.get('reply') or 'no means'}, not by email")
    if not result.acknowledge and not no_ack:
        no_ack.append(f"topic {result.topic} is not answered")
    if not team.acknowledge:
        no_ack.append(f"queue {queue} is never answered")
    if not requester_email or "@" not in requester_email:
        no_ack.append("no address to reply to")
    elif over_sender_limit(session, requester_email, now, ack_limit(services)):
        no_ack.append(f"over {ack_limit(services)} acknowledgements to {requester_email} in 24 hours")
    statutory_by = None
    if "data_protection" in (result.topic, *result.secondary):  # the statutory one-month clock starts now
        statutory_by = compute_deadlines(policy, calendar, raw.channel, "data_protection", 1, received).reply_by
    case = Case(
        dedupe_key=dedupe_key(raw) if raw.source != "form" else None,
        statutory_by=statutory_by,
        first_message_id=raw.id,
        created_at=now,
        channel=raw.channel,
        topic=result.topic,
        secondary=list(result.secondary),
        reasons=list(result.reasons),
        queue=queue,
        handler_name=who.handler.name,
        handler_role=who.handler.role,
        handler_email=who.handler.email,
        requester_name=requester_name[:300],
        requester_email=requester_email[:320],
        subject=msg.subject[:998],
        acknowledge=not no_ack,
        no_ack_reasons=no_ack,
        acknowledge_by=due.acknowledge_by,
        reply_by=due.reply_by,
        update_due=due.update_by,
        flags=["unparsed"] if msg.defects and not msg.text else [],
    )
    session.add(case)
    session.flush()
    case.reference = make_reference(str(config.organisation.get("reference_prefix", "CS")), case)
    raw.case_id = case.id
    attachments = [{"name": a.filename, "type": a.content_type, "size": a.size} for a in msg.attachments]
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="opened",
            detail={"reasons": list(result.reasons), "deadlines": due.reasons, "attachments": attachments,
                    "defects": list(msg.defects)},
        )
    )
    if statutory_by is not None:
        session.add(CaseEvent(case_id=case.id, kind="statutory_clock", detail={"data_protection_by": statutory_by.isoformat()}))
    if no_ack:
        session.add(CaseEvent(case_id=case.id, kind="not_acknowledged", detail={"why": no_ack}))
    session.add(Routing(raw_message_id=raw.id, case_id=case.id, queue=queue, kind="new_case"))
    return case


def process(services: Services, raw_id: int, *, route: bool = True) -> tuple[str, int] | None:
    """The intake job for one message: open the case (or join one), then deliver; one log line.

    Returns the routed item (team queue, routing id) still to be handed to its team; with `route`
    it is enqueued here, otherwise the caller batches it with others.
    """
    opened = open_case(services, raw_id, hold_ack=True)
    routed = deliver(services, raw_id, held=opened is not None and opened.fresh and opened.acknowledge)
    if route and routed is not None:
        jobs.enqueue_routing(services, *routed)
    with services.store.session() as session:
        raw = session.get(RawMessage, raw_id)
        case = session.get(Case, raw.case_id) if raw and raw.case_id else None
        log.info(
            "message %s raw=%d case=%s topic=%s queue=%s state=%s%s",
            raw.message_id if raw else "?",
            raw_id,
            case.reference if case else "-",
            case.topic if case else "-",
            case.queue if case else "-",
            raw.state if raw else "?",
            "" if case is None or case.acknowledge else " (not acknowledged)",
        )
    return routed


def shunt(services: Services, raw_id: int, error: str) -> None:
    """A message we could not process goes where a person sees it; it is never dropped."""
    with services.store.session() as session, session.begin():
        session.execute(  # only a message still in progress: one already handled keeps its state
            update(RawMessage)
            .where(RawMessage.id == raw_id, RawMessage.state == "new")
            .values(state="failed", error=error[:2000])
        )
    log.error("message raw=%d shunted to the failed list: %s", raw_id, error.splitlines()[-1] if error else "")


def submit_form(services: Services, raw: bytes, key: str) -> CaseFacts:
    """The web form: commit the submission, open its case now (the page shows it), deliver later."""
    accepted = accept(services.store, raw, channel="webform", mailbox=form_mailbox(services), source="form", key=key)
    opened = open_case(services, accepted.raw_id)
    if opened is None:
        with services.store.session() as session:
            stored = session.get(RawMessage, accepted.raw_id)
            case = session.get(Case, stored.case_id) if stored and stored.case_id else None
            if case is None:
                raise LookupError("the submission was stored but has no case")
            opened = facts(case)
    try:
        jobs.enqueue_intake(services, accepted.raw_id)
    except Exception as exc:  # stored and opened: the sweeper sends the acknowledgement when Redis is back
        log.warning("form submission raw=%d stored, not enqueued (the sweeper will): %s", accepted.raw_id, exc)
    return opened


def form_mailbox(services: Services) -> str:
    configured = services.config.extra.get("form", {}).get("mailbox")
    if configured:
        return str(configured)
    boxes = [m.address for m in services.config.mailboxes if m.queue == "complaints"]
    return boxes[0] if boxes else services.config.mailboxes[0].address
