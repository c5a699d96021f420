"""The store: the source of truth. Redis only carries work; everything here survives it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Dialect, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite keeps no offset: without this a London deadline and a UTC receipt time would be stored
    as two naive clock times that cannot be compared. Naive values are refused, not guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime()}


class RawMessage(Base):
    """Every inbound message exactly as received, committed before we say yes to the sender."""

    __tablename__ = "raw_message"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(10))  # smtp, imap, form
    channel: Mapped[str] = mapped_column(String(20))  # email, webform, post, voicemail, social
    mailbox: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # new -> done | duplicate | failed (shunted: a person must look); attempts counts tries
    state: Mapped[str] = mapped_column(String(12), default="new", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime | None] = mapped_column()
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (Index("ix_case_queue_status_handler", "queue", "status", "handler_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    first_message_id: Mapped[int] = mapped_column(Integer, unique=True)  # no FK: raw_message points here
    # the message's Message-ID (else its content hash): two copies racing in two workers cannot both
    # open a case, whatever order their ids committed in
    dedupe_key: Mapped[str | None] = mapped_column(String(1000), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(40))
    secondary: Mapped[list[str]] = mapped_column(default=list)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    queue: Mapped[str] = mapped_column(String(40), index=True)
    handler_name: Mapped[str] = mapped_column(String(200), default="")
    handler_role: Mapped[str] = mapped_column(String(200), default="")
    handler_email: Mapped[str] = mapped_column(String(320), default="")
    stage: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="open")
    requester_name: Mapped[str] = mapped_column(String(300), default="")
    requester_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    no_ack_reasons: Mapped[list[str]] = mapped_column(default=list)
    acknowledge_by: Mapped[datetime | None] = mapped_column()
    reply_by: Mapped[datetime | None] = mapped_column()
    flags: Mapped[list[str]] = mapped_column(default=list)
    # notices (0003): when the next progress update is due, for policies that promise them
    update_due: Mapped[datetime | None] = mapped_column()
    # a statutory clock besides the policy's own, e.g. a subject access request inside a complaint
    statutory_by: Mapped[datetime | None] = mapped_column()


class Acknowledgement(Base):
    """One row per case at most (unique case_id): the guard behind "exactly one acknowledgement"."""

    __tablename__ = "acknowledgement"
    __table_args__ = (Index("ix_acknowledgement_recipient_created", "recipient", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    recipient: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    template: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[str] = mapped_column(String(64))
    due_by: Mapped[datetime] = mapped_column()
    rendered: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> sending (claimed by one worker) -> sent; bounced when a bounce of it came back
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="")


class Routing(Base):
    """A routed work item (a new case or a follow-up) for a team, mailed to the team's address once."""

    __tablename__ = "routing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raw_message_id: Mapped[int] = mapped_column(ForeignKey("raw_message.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="new_case")  # new_case, follow_up
    queue: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending, delivered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="")


class ForwardingNotice(Base):
    __tablename__ = "forwarding_notice"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    forwarded_to: Mapped[str] = mapped_column(String(300))
    contact: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    forwarded_by: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    notice_message_id: Mapped[str] = mapped_column(String(250), default="")
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))  # 0003: the notice that told the requester


class Notice(Base):
    """A notice to the requester (forwarded, extended, escalated, progress), rendered once, sent once.

    The rendered bytes are stored before sending, so a retry sends exactly what was recorded; the
    state moves pending -> sending (claimed by one sender) -> sent, or not_sent when there is nobody
    to send it to (an anonymous case). `idempotency_key` makes a repeated command a no-op.
    """

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # forwarded, extended, escalated, progress
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    recipient: Mapped[str] = mapped_column(String(320), default="")
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    template_version: Mapped[str] = mapped_column(String(64), default="")
    rendered: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    by: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class CaseEvent(Base):
    """What happened to a case, in order: the audit trail staff and auditors read."""

    __tablename__ = "case_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
