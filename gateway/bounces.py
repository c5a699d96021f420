"""Bounces of our own acknowledgements: link them to their case instead of opening a new one.

When an acknowledgement cannot be delivered the requester believes we never answered, so staff
must see it on the case ("acknowledgement not delivered") and reach the person another way. A
bounce names the message it returns in one of several places, depending on the MTA: the returned
message or its headers inside a multipart/report (RFC 3464), In-Reply-To/References, or only
quoted in a plain-text body (qmail, old Exchange). Our acknowledgements carry Message-IDs shaped
``<ack.<reference>.<raw id>@domain>``, so even a quoted body is enough to find them.

Only a delivery *failure* counts: an out-of-office reply to an acknowledgement is automatic but
the mail was delivered, and a "delayed" DSN may still end in delivery.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.hygiene import automatic_reasons
from gateway.mail.parse import MAX_DEPTH, MAX_PARTS, ParsedMessage, split_header_block
from gateway.store import Acknowledgement, Case, CaseEvent, RawMessage

FLAG = "acknowledgement not delivered"
SCAN_BYTES = 2 * 1024 * 1024  # where a bounce quotes our message: well within the first megabytes
ACK_ID = re.compile(rb"<?(ack\.[A-Z]{2,5}-\d{4}-\d{6}\.\d{1,12}@[A-Za-z0-9.-]{1,253})>?")
MESSAGE_ID = re.compile(rb"(?im)^message-id[ \t]*:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,900}>)")
ACTION = re.compile(r"(?im)^action:\s*([a-z]+)")
STATUS = re.compile(r"(?im)^(?:status|diagnostic-code):\s*(.{1,200})$")
FAILURE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered mail|delivery status notification \(failure|mail delivery (failed|failure)|"
    r"returned mail|failure notice|delivery failure|mail system error)",
    re.IGNORECASE,
)


def is_delivery_failure(msg: ParsedMessage, own_addresses: set[str] | None = None) -> bool:
    """A machine reporting that a message could not be delivered (not merely delayed, not an auto-reply)."""
    if not automatic_reasons(msg, own_addresses or ()):
        return False  # a person replying to our acknowledgement is a follow-up, never a bounce
    actions = {a.lower() for a in ACTION.findall(msg.text)}
    if actions:
        return "failed" in actions
    local = msg.from_addr.split("@", 1)[0]
    report_type = re.search(r"report-type\s*=\s*\"?([a-z-]+)", msg.header("content-type"), re.IGNORECASE)
    return bool(
        (msg.content_type == "multipart/report" and report_type and report_type.group(1).lower() == "delivery-status")
        or "x-failed-recipients" in msg.header_names()
        or local.lower().startswith(("mailer-daemon", "postmaster"))
        or FAILURE_SUBJECT.match(msg.subject)
    )


def _returned_parts(raw: bytes) -> list[bytes]:
    """The returned message or headers inside a report, as bytes, walked with the parser's bounds."""
    head, body = split_header_block(raw[:SCAN_BYTES])
    if b"multipart" not in head.lower():
        return []
    try:
        top = email.message_from_bytes(raw[:SCAN_BYTES], policy=email.policy.compat32)
    except Exception:  # deep nesting and the like: the body scan below still finds quoted ids
        return []
    found: list[bytes] = []
    stack: list[tuple[Message, int]] = [(top, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        ctype = part.get_content_type()
        payload = part.get_payload()
        if ctype in ("message/rfc822", "message/global") and isinstance(payload, list) and isinstance(payload[0], Message):
            found.append(b"Message-ID: " + str(payload[0].get("Message-ID", "")).encode("ascii", "replace"))
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            data = part.get_payload(decode=True)
            found.append(data if isinstance(data, bytes) else b"")
        elif isinstance(payload, list) and depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return found


def bounced_message_ids(msg: ParsedMessage, raw: bytes) -> list[str]:
    """The Message-IDs a bounce refers to, best evidence first, without duplicates."""
    ids: list[str] = []
    for block in _returned_parts(raw):
        ids.extend(m.decode("ascii", "replace") for m in MESSAGE_ID.findall(block))
    ids.extend(i for i in (msg.in_reply_to, *reversed(msg.references)) if i)
    for source in (msg.text.encode("utf-8", "replace"), raw[:SCAN_BYTES]):
        ids.extend(f"<{m.decode('ascii')}>" for m in ACK_ID.findall(source))
    return list(dict.fromkeys(i for i in ids if i.startswith("<") and i.endswith(">")))


def _diagnostic(msg: ParsedMessage) -> str:
    return "; ".join(s.strip() for s in STATUS.findall(msg.text))[:500] or msg.subject[:200]


def link_bounce(session: Session, raw: RawMessage, msg: ParsedMessage, own_addresses: set[str]) -> Case | None:
    """When ``raw`` is a failed delivery of one of our acknowledgements, record it on that case.

    Marks the acknowledgement bounced, flags the case, adds an event and files the bounce under the
    case. Returns the case, or None when this is not such a bounce (the pipeline goes on as usual).
    Idempotent: a second run finds the raw message already filed and changes nothing.
    """
    if not is_delivery_failure(msg, own_addresses):
        return None
    ids = bounced_message_ids(msg, raw.raw)
    if not ids:
        return None
    ack = session.scalar(select(Acknowledgement).where(Acknowledgement.message_id.in_(ids)).limit(1))
    if ack is None:
        return None
    case = session.get(Case, ack.case_id)
    if case is None:
        return None
    why = _diagnostic(msg)
    ack.state = "bounced"
    ack.error = f"bounced (raw message {raw.id}): {why}"[:2000]
    if FLAG not in (case.flags or []):
        case.flags = [*(case.flags or []), FLAG]  # a new list, so the JSON column sees the change
    raw.case_id = case.id
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="acknowledgement_bounced",
            detail={"raw_message_id": raw.id, "acknowledgement": ack.message_id, "recipient": ack.recipient, "why": why},
        )
    )
    return case
