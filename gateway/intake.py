"""Accepting a message: commit the raw bytes durably, then (and only then) say yes.

Every entry point (SMTP, IMAP, the web form) calls `accept`; the caller answers 250, moves the IMAP
message, or shows the confirmation page only after it returns. Parsing, deciding and replying
happen later in the pipeline, from the stored copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.store import RawMessage, Store

_MESSAGE_ID = re.compile(rb"(?im)^message-id[ \t]*:\s*(<[^<>\r\n]{1,990}>)")  # \s*: the id may be folded


@dataclass(frozen=True)
class Accepted:
    raw_id: int
    duplicate: bool = False


def message_id_of(raw: bytes) -> str:
    """The Message-ID from the header block, read without the full parser (this runs before 250)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else ""


def new_raw_message(
    raw: bytes, *, channel: str, mailbox: str, source: str, envelope_from: str = "", key: str | None = None
) -> RawMessage:
    return RawMessage(
        source=source,
        channel=channel,
        mailbox=mailbox.lower(),
        envelope_from=envelope_from[:320],
        message_id=message_id_of(raw),
        content_hash=hashlib.sha256(raw).hexdigest(),
        idempotency_key=key,
        size=len(raw),
        raw=raw,
    )


def accept(
    store: Store,
    raw: bytes,
    *,
    channel: str,
    mailbox: str,
    source: str,
    envelope_from: str = "",
    key: str | None = None,
) -> Accepted:
    """Commit one message. `key` makes a retried submission (double click, back button) a no-op."""
    row = new_raw_message(raw, channel=channel, mailbox=mailbox, source=source, envelope_from=envelope_from, key=key)
    with store.session() as session:
        if key is not None:
            existing = session.scalar(select(RawMessage.id).where(RawMessage.idempotency_key == key))
            if existing is not None:
                return Accepted(existing, duplicate=True)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.scalar(select(RawMessage.id).where(RawMessage.idempotency_key == key))
            if existing is None:
                raise
            return Accepted(existing, duplicate=True)
        return Accepted(row.id)
