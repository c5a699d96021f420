"""The IMAP watcher's memory in the store: a checkpoint per folder and a lease per mailbox.

The checkpoint says how far a folder has been handed over (UIDVALIDITY and the last UID), so a
restart resumes instead of re-reading. The lease makes one watcher active per mailbox when several
machines run `frontdesk imap`: an atomic conditional UPDATE (or INSERT) wins it, the holder renews it,
and a crashed holder's lease simply expires. Correctness never rests on the lease alone: storing is
keyed by (mailbox, UIDVALIDITY, UID), so two watchers for a moment store nothing twice.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from gateway.store import Store
from gateway.store.imap_models import ImapCheckpoint, ImapLease
from gateway.store.models import utcnow


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int = 0
    rescan_until: int = 0  # UIDs up to this one are matched by content first (see ImapCheckpoint)


def load_checkpoint(store: Store, mailbox: str) -> Checkpoint | None:
    with store.session() as session:
        row = session.get(ImapCheckpoint, mailbox)
        return None if row is None else Checkpoint(row.uidvalidity, row.last_uid, row.rescan_until)


def save_checkpoint(store: Store, mailbox: str, checkpoint: Checkpoint) -> None:
    """Commit the checkpoint; called only after the messages up to it were stored and moved."""
    with store.session() as session:
        session.merge(
            ImapCheckpoint(
                mailbox=mailbox,
                uidvalidity=checkpoint.uidvalidity,
                last_uid=checkpoint.last_uid,
                rescan_until=checkpoint.rescan_until,
            )
        )
        session.commit()


def new_holder() -> str:
    """A holder id that tells a person reading the table which machine and process holds a lease."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(store: Store, mailbox: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease; False while another live holder has it.

    The UPDATE's WHERE clause is the whole decision (ours already, or expired), so two machines
    racing cannot both win; a missing row is created, and the loser of that race gets IntegrityError.
    """
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    with store.session() as session:
        result = session.execute(
            update(ImapLease)
            .where(ImapLease.mailbox == mailbox, or_(ImapLease.holder == holder, ImapLease.expires_at < now))
            .values(holder=holder, expires_at=expires, renewals=ImapLease.renewals + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            session.commit()
            return True
        if session.get(ImapLease, mailbox) is not None:
            return False
        session.add(ImapLease(mailbox=mailbox, holder=holder, expires_at=expires, renewals=0))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True


def release_lease(store: Store, mailbox: str, holder: str) -> None:
    """Give the lease up at a clean stop, so a waiting watcher takes over without waiting for expiry."""
    with store.session() as session:
        session.execute(delete(ImapLease).where(ImapLease.mailbox == mailbox, ImapLease.holder == holder))
        session.commit()


def lease_holder(store: Store, mailbox: str) -> str | None:
    """Who holds the lease now (expired or not); for tests and the admin pages."""
    with store.session() as session:
        row = session.get(ImapLease, mailbox)
        return None if row is None else row.holder
