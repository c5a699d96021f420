"""Delivering what the pipeline decided: the acknowledgement, sent exactly once, and the routed work.

The acknowledgement row is unique per case; whoever renders it holds it (`sending`) and sends it, a
`pending` one (its send failed) is claimed with a conditional update, and only `sending` moves on
to `sent`, so a bounce that landed first keeps its `bounced`. A relay that refuses for good (5xx)
flags the case instead of being asked again for ever.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import acknowledge
from gateway.assign import cached_absences, current_assignment
from gateway.config import Handler
from gateway.mail.outbound import SendError, send
from gateway.mail.parse import ParsedMessage, parse
from gateway.policy.calendar import local
from gateway.policy.presets import compute_deadlines
from gateway.services import Services
from gateway.store import Acknowledgement, Case, CaseEvent, RawMessage, Routing
from gateway.store.db import rowcount

log = logging.getLogger("frontdesk.delivery")


def take_acknowledgement(services: Services, raw_id: int) -> Acknowledgement | None:
    """Exactly one acknowledgement per case: the first worker here renders it and holds it (`sending`).

    The row is unique per case, so a second worker racing on the same case fails to insert and
    sends nothing; a `pending` one (left by a failed send) is claimed with a conditional update.
    """
    try:
        with services.store.session() as session, session.begin():
            raw = session.get(RawMessage, raw_id)
            case = session.get(Case, raw.case_id) if raw is not None and raw.case_id else None
            if raw is None or case is None or not case.acknowledge or case.first_message_id != raw.id:
                return None
            ack = session.scalar(select(Acknowledgement).where(Acknowledgement.case_id == case.id))
            if ack is not None:
                claimed = rowcount(session.execute(
                    update(Acknowledgement)
                    .where(Acknowledgement.id == ack.id, Acknowledgement.state == "pending")
                    .values(state="sending", claimed_at=datetime.now(UTC), attempts=Acknowledgement.attempts + 1)
                ))
                return ack if claimed else None
            ack = render_acknowledgement(services, session, case, raw)
            ack.state, ack.claimed_at, ack.attempts = "sending", datetime.now(UTC), 1
            session.add(ack)
            return ack
    except IntegrityError:
        return None


def held_acknowledgement(services: Services, raw_id: int) -> Acknowledgement | None:
    with services.store.session() as session:
        return session.scalar(
            select(Acknowledgement)
            .join(Case, Case.id == Acknowledgement.case_id)
            .where(Case.first_message_id == raw_id, Acknowledgement.state == "sending")
        )


def render_acknowledgement(
    services: Services, session: Session, case: Case, raw: RawMessage, msg: ParsedMessage | None = None
) -> Acknowledgement:
    received = raw.received_at if raw.received_at.tzinfo else raw.received_at.replace(tzinfo=UTC)
    absences = cached_absences(services.config.queue_dir, services.cache)
    handler = Handler(case.handler_name, case.handler_role, case.handler_email)
    who = current_assignment(handler, absences, local(services.policy[1], received).date())
    policy, calendar = services.policy
    due = compute_deadlines(policy, calendar, case.channel, case.topic, case.stage, received)
    return acknowledge.build(services, case, raw, msg or parse(raw.raw), who, due)


def deliver(services: Services, raw_id: int, *, held: bool = False) -> tuple[str, int] | None:
    """After open_case: send the acknowledgement once, mark the message done, hand the work to its team.

    `held` says open_case just created the acknowledgement held for this caller.
    """
    config = services.config
    ack = held_acknowledgement(services, raw_id) if held else take_acknowledgement(services, raw_id)
    sent = None
    if ack is not None:
        try:
            sent = send(config.relay, config.outbox_dir, config.from_address, [ack.recipient], ack.rendered)
        except SendError as exc:
            if not exc.permanent:
                with services.store.session() as session, session.begin():
                    session.execute(  # back to pending, unless a bounce (or anything else) moved it on meanwhile
                        update(Acknowledgement)
                        .where(Acknowledgement.id == ack.id, Acknowledgement.state == "sending")
                        .values(state="pending", error=str(exc))
                    )
                raise
            undeliverable(services, ack, str(exc))  # refused for good: staff see it, the message finishes
            ack = None
    with services.store.session() as session, session.begin():
        if ack is not None:
            session.execute(  # only from `sending`: a bounce that already landed keeps its `bounced`
                update(Acknowledgement)
                .where(Acknowledgement.id == ack.id, Acknowledgement.state == "sending")
                .values(state="sent", sent_at=datetime.now(UTC), error="")
            )
            session.add(CaseEvent(case_id=ack.case_id, kind="acknowledged", detail={"to": ack.recipient, "via": sent}))
        session.execute(update(RawMessage).where(RawMessage.id == raw_id, RawMessage.state == "new").values(state="done"))
        routing = session.scalar(select(Routing).where(Routing.raw_message_id == raw_id, Routing.state == "pending"))
    return (routing.queue, routing.id) if routing is not None else None


def undeliverable(services: Services, ack: Acknowledgement, error: str) -> None:
    """The relay refused the acknowledgement for good: flag the case instead of retrying for ever."""
    with services.store.session() as session, session.begin():
        session.execute(update(Acknowledgement).where(Acknowledgement.id == ack.id).values(state="failed", error=error[:2000]))
        case = session.get(Case, ack.case_id)
        if case is not None:
            case.flags = [*case.flags, "acknowledgement not delivered"]
            session.add(CaseEvent(case_id=case.id, kind="not_delivered", detail={"to": ack.recipient, "error": error[:500]}))
    log.warning("acknowledgement to case id=%d refused by the relay: %s", ack.case_id, error)
