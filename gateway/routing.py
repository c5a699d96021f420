"""Deliver routed work to a team: a mail to the team's own address with the facts and the original.

Staff receive routed work in their mail client from day one. A restricted team's content goes only
to that team's address: the message is built from its own case and sent to `team.address` alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, make_msgid

from sqlalchemy import select, update

from gateway.acknowledge import CHANNEL_LABELS, TOPIC_LABELS, domain_of, one_line
from gateway.mail.outbound import normalise_line_endings, send
from gateway.services import Services
from gateway.store import Acknowledgement, Case, CaseEvent, RawMessage, Routing
from gateway.store.db import rowcount
from gateway.templating import long_date, render_file

log = logging.getLogger("frontdesk.routing")


def acknowledgement_line(case: Case, ack: Acknowledgement | None) -> str:
    """What the team needs to know about the acknowledgement, in one line."""
    if ack is None:
        return "none: " + "; ".join(case.no_ack_reasons)
    if ack.state == "sent":
        return f"sent to {ack.recipient}"
    due = long_date(case.acknowledge_by) if case.acknowledge_by else "now"
    return f"{ack.state}, due by {due}"


def deliver_to_team(services: Services, routing_id: int) -> bool:
    config = services.config
    with services.store.session() as session, session.begin():
        claimed = rowcount(  # one team mail per item, however many jobs carry it
            session.execute(update(Routing).where(Routing.id == routing_id, Routing.state == "pending").values(state="sending"))
        )
    if not claimed:
        return False
    with services.store.session() as session:
        item = session.get(Routing, routing_id)
        assert item is not None  # claimed a moment ago
        case = session.get(Case, item.case_id)
        raw = session.get(RawMessage, item.raw_message_id)
        ack = session.scalar(select(Acknowledgement).where(Acknowledgement.case_id == item.case_id))
    assert case is not None and raw is not None
    team = config.teams[item.queue]
    values = {
        "kind_label": "case" if item.kind == "new_case" else "follow-up",
        "team_label": team.label,
        "reference": case.reference,
        "topic_label": TOPIC_LABELS.get(case.topic, case.topic),
        "secondary": list(case.secondary),
        "channel_label": CHANNEL_LABELS.get(case.channel, case.channel),
        "mailbox": raw.mailbox,
        "received": f"{raw.received_at:%Y-%m-%d %H:%M} UTC",
        "requester": one_line(f"{case.requester_name} <{case.requester_email}>" if case.requester_email else "anonymous"),
        "subject": one_line(case.subject),
        "handler_name": case.handler_name,
        "handler_role": case.handler_role,
        "acknowledgement": acknowledgement_line(case, ack),
        "reply_by_long": long_date(case.reply_by) if case.reply_by else "",
        "statutory_by_long": long_date(case.statutory_by) if case.statutory_by else "",
        "reasons": list(case.reasons),
    }
    mail = EmailMessage()
    mail["From"] = formataddr(("Frontdesk", config.from_address))
    mail["To"] = team.address
    prefix = "Follow-up" if item.kind == "follow_up" else "New"
    mail["Subject"] = f"[{case.reference}] {prefix} {values['topic_label']}: {one_line(case.subject, 120)}"
    mail["Message-ID"] = make_msgid(domain=domain_of(config.from_address))
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Frontdesk-Reference"] = case.reference or ""
    mail["X-Frontdesk-Queue"] = team.name
    mail.set_content(render_file(config.templates_dir / "notices", "routed.txt", values))
    mail.add_attachment(
        normalise_line_endings(raw.raw), maintype="application", subtype="octet-stream", filename=f"{case.reference}-original.eml"
    )
    try:
        send(config.relay, config.outbox_dir, config.from_address, [team.address], mail.as_bytes(policy=SMTP_POLICY))
    except Exception as exc:
        with services.store.session() as session, session.begin():
            session.execute(update(Routing).where(Routing.id == routing_id).values(state="pending", error=str(exc)[:2000]))
        raise
    with services.store.session() as session, session.begin():
        session.execute(
            update(Routing).where(Routing.id == routing_id).values(state="delivered", delivered_at=datetime.now(UTC))
        )
        session.add(CaseEvent(case_id=case.id, kind="routed", detail={"queue": team.name, "to": team.address}))
    log.info("routed %s raw=%d to queue %s", case.reference, raw.id, team.name)
    return True
