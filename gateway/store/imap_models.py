"""Store tables for the IMAP watchers: where each mailbox got to, and who is watching it.

They live in the store (not Redis) because the checkpoint must survive everything a message does,
and a lease in the same database as the messages needs no second system to agree with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, utcnow


class ImapCheckpoint(Base):
    """How far a watched folder has been handed over: UIDs up to `last_uid` under `uidvalidity`.

    `rescan_until`: after a UIDVALIDITY change, messages with a UID up to this one may be copies of
    messages stored under the old numbering, so they are matched by content before storing.
    """

    __tablename__ = "imap_checkpoint"
    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    rescan_until: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImapLease(Base):
    """One active watcher per mailbox across machines: the holder renews before `expires_at`."""

    __tablename__ = "imap_lease"
    mailbox: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()
    renewals: Mapped[int] = mapped_column(Integer, default=0)
