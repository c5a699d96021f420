"""The IMAP watcher: one shared mailbox folder in, each message stored once, then moved out of the way.

Order is the whole crash-safety argument: (1) store the raw bytes under a key made of the mailbox,
UIDVALIDITY and UID, (2) UID MOVE the message to the processed folder (or COPY + \\Deleted +
UID EXPUNGE, or flag it $Frontdesk when it may not move), (3) advance the checkpoint. A crash before
(1) leaves the message in the folder; between (1) and (2) the next scan re-stores it as a no-op and
moves it; after (2) it is gone from the folder. \\Seen is never read or set (BODY.PEEK), because a
person reading the shared mailbox would otherwise hide mail from us.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from gateway.intake import accept, message_id_of
from gateway.mail.imap_checkpoint import (
    Checkpoint,
    acquire_lease,
    load_checkpoint,
    new_holder,
    release_lease,
    save_checkpoint,
)
from gateway.mail.imap_config import ImapMailbox, connect, imap_mailboxes
from gateway.store import RawMessage, Store

__all__ = ["ImapMailbox", "Session", "imap_mailboxes", "open_session", "scan_once", "wait_for_mail", "watch"]
log = logging.getLogger(__name__)
FLAG = b"$Frontdesk"
BATCH_MESSAGES, BATCH_BYTES = 50, 8 * 1024 * 1024
CONNECTION_ERRORS = (OSError, IMAPClientError)  # IMAP4.abort (EOF, BYE) is an IMAPClientError too
OnStored = Callable[[int], None]


class LeaseLost(Exception):
    """Another watcher holds the mailbox now (ours expired): stop touching it."""


@dataclass
class Session:
    """A logged-in connection with the folder selected, and what this server lets us do with it."""

    client: IMAPClient
    box: ImapMailbox
    uidvalidity: int
    uidnext: int
    processed: str  # the processed folder's server-side name; "" when we flag instead of moving
    can_flag: bool


def open_session(box: ImapMailbox) -> Session:
    """Connect, select the folder, and make sure the processed folder exists (created when missing)."""
    client = connect(box)
    try:
        info = client.select_folder(box.folder)
        processed = ""
        if box.processed_folder:
            processed = _server_name(client, box.processed_folder)
            try:
                if not client.folder_exists(processed):
                    client.create_folder(processed)
            except IMAPClient.AbortError:
                raise
            except IMAPClientError as exc:
                log.warning("imap %s: cannot create %s (%s); flagging instead", box.name, processed, exc)
                processed = ""
        flags = info.get(b"PERMANENTFLAGS", ())
        return Session(client, box, int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT", 0)), processed,
                       b"\\*" in flags or FLAG in flags)
    except BaseException:
        client.shutdown()
        raise


def _server_name(client: IMAPClient, name: str) -> str:
    """Config writes folders with "/"; the server may separate them with "." or something else."""
    try:
        delimiter = client.namespace().personal[0][1]
    except (IMAPClientError, IndexError, TypeError):
        return name
    return name.replace("/", delimiter) if isinstance(delimiter, str) and delimiter else name


def close_session(session: Session, *, graceful: bool) -> None:
    try:
        if graceful:
            session.client.logout()
        else:
            session.client.shutdown()
    except CONNECTION_ERRORS:
        pass


def _batches(uids: list[int], sizes: dict[int, int]) -> Iterator[list[int]]:
    """Fetch in groups bounded by count and bytes, so a backlog of large messages stays in memory bounds."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= BATCH_MESSAGES or total + size > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def store_message(store: Store, box: ImapMailbox, uidvalidity: int, uid: int, raw: bytes, *,
                  match_content: bool) -> tuple[int, bool]:
    """Store one message unless it already is; returns (raw_id, newly stored).

    The key alone is trusted only when the stored bytes match: a server that renumbered its UIDs
    (a lost dovecot-uidlist) could give a new message an old UID, and that message must not be lost.
    `match_content` (after a UIDVALIDITY change) also finds the message under its old numbering.
    """
    digest = hashlib.sha256(raw).hexdigest()
    key = f"{box.key_prefix}{uidvalidity}:{uid}"
    with store.session() as session:
        row = session.execute(
            select(RawMessage.id, RawMessage.content_hash).where(RawMessage.idempotency_key == key)
        ).first()
        if row is not None and row.content_hash == digest:
            return row.id, False
        if row is not None:
            key = f"{key}:{digest[:16]}"
        elif match_content:
            found = session.scalar(
                select(RawMessage.id)
                .where(RawMessage.content_hash == digest, RawMessage.source == "imap",
                       RawMessage.idempotency_key.startswith(box.key_prefix))
                .limit(1)
            )
            if found is not None:
                return found, False
    accepted = accept(store, raw, channel=box.channel, mailbox=box.address, source="imap", key=key)
    return accepted.raw_id, not accepted.duplicate


def dispose(session: Session, uids: list[int]) -> None:
    """Take stored messages out of the watched folder: move, else copy and expunge, else flag."""
    client, box = session.client, session.box
    if session.processed:
        try:
            if client.has_capability("MOVE"):
                client.move(uids, session.processed)
                return
            client.copy(uids, session.processed)
            client.add_flags(uids, [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:  # plain EXPUNGE also removes what a person marked deleted: that was their intent
                client.expunge()
            return
        except IMAPClient.AbortError:
            raise
        except IMAPClientError as exc:
            log.warning("imap %s: cannot move to %s (%s); flagging instead", box.name, session.processed, exc)
    if session.can_flag:
        client.add_flags(uids, [FLAG], silent=True)


def _start_checkpoint(session: Session, store: Store) -> Checkpoint:
    """The folder's checkpoint; on a UIDVALIDITY change, start again and match the old UIDs by content."""
    box = session.box
    checkpoint = load_checkpoint(store, box.name)
    if checkpoint is not None and checkpoint.uidvalidity == session.uidvalidity:
        return checkpoint
    rescan_until = 0
    if checkpoint is not None:
        rescan_until = session.uidnext - 1 if session.uidnext else max(session.client.search("ALL"), default=0)
        log.warning("imap %s: UIDVALIDITY changed %s -> %s; re-scanning, matching UIDs up to %s by content",
                    box.name, checkpoint.uidvalidity, session.uidvalidity, rescan_until)
    checkpoint = Checkpoint(session.uidvalidity, 0, rescan_until)
    save_checkpoint(store, box.name, checkpoint)
    return checkpoint


def _candidates(session: Session, checkpoint: Checkpoint) -> list[int]:
    """UIDs still to hand over. Never UNSEEN: a person reading the mailbox sets \\Seen."""
    client = session.client
    if session.can_flag:
        return sorted(client.search(["NOT", "KEYWORD", FLAG.decode()]))
    if session.processed:
        return sorted(client.search("ALL"))
    # read-only folder: the checkpoint is all we have ("n:*" also returns the highest UID below n)
    return sorted(uid for uid in client.search(["UID", f"{checkpoint.last_uid + 1}:*"]) if uid > checkpoint.last_uid)


def scan_once(session: Session, store: Store, on_stored: OnStored) -> int:
    """Hand over everything waiting in the folder; returns how many messages were newly stored."""
    box, client = session.box, session.client
    checkpoint = _start_checkpoint(session, store)
    uids = _candidates(session, checkpoint)
    if not uids:
        return 0
    sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()}
    stored = 0
    for batch in _batches(uids, sizes):
        fetched = client.fetch(batch, ["BODY.PEEK[]"])
        done = []
        for uid in batch:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is None:  # expunged by someone else since the search
                continue
            match = uid <= max(checkpoint.last_uid, checkpoint.rescan_until)
            raw_id, new = store_message(store, box, session.uidvalidity, uid, raw, match_content=match)
            stored += new
            log.info("imap %s: uid %s %s raw %s message-id %s", box.name, uid, "stored as" if new else "already",
                     raw_id, message_id_of(raw) or "(none)")
            done.append(uid)
            if uid > checkpoint.last_uid:  # handed over before: the pipeline has it already
                try:
                    on_stored(raw_id)
                except Exception:  # the store re-enqueues what the queue missed; keep the watcher up
                    log.exception("imap %s: on_stored(%s) failed", box.name, raw_id)
        if done:
            dispose(session, done)
            checkpoint = replace(checkpoint, last_uid=max(checkpoint.last_uid, *done))
            save_checkpoint(store, box.name, checkpoint)
    return stored


def wait_for_mail(session: Session, stop: threading.Event, seconds: float) -> None:
    """Return when new mail may be there, after `seconds`, or on stop; raise when the connection died.

    Dovecot's IDLE reports only changes made after IDLE began, so a NOOP first catches mail that
    came during the scan. An empty answer that came back early means the socket hit EOF (imapclient
    then returns empty at once, forever): ending IDLE on a dead socket raises, and we reconnect.
    """
    client, box = session.client, session.box
    if not (box.idle and client.has_capability("IDLE")):
        stop.wait(min(seconds, box.poll_seconds))
        client.noop()  # Dovecot shows new mail after a command ends: sync now so the SEARCH sees it
        return
    if any(len(r) > 1 and r[1] == b"EXISTS" for r in client.noop()[1]):
        return
    client.idle()
    deadline = time.monotonic() + seconds
    try:
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            step, started = min(1.0, left), time.monotonic()
            responses = client.idle_check(timeout=step)
            if any(len(r) > 0 and r[0] == b"BYE" for r in responses):
                raise IMAPClient.AbortError("server said BYE during IDLE")
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                return
            if not responses and time.monotonic() - started < step / 2:
                return  # probable EOF: idle_done below tells
    finally:
        client.idle_done()


@dataclass
class Backoff:
    """Reconnect delays: 0.5 s doubling to `cap`, with jitter so many watchers do not retry in step."""

    cap: float = 60.0
    failures: int = 0

    def next(self) -> float:
        self.failures += 1
        return min(self.cap, 0.5 * 2 ** (self.failures - 1)) * random.uniform(0.75, 1.0)


def _serve(session: Session, store: Store, on_stored: OnStored, stop: threading.Event, holder: str,
           lease_seconds: float, backoff: Backoff) -> None:
    """Scan, wait, scan... while we hold the lease; renewing it at each turn."""
    box = session.box
    while not stop.is_set():
        if not acquire_lease(store, box.name, holder, lease_seconds):
            raise LeaseLost(box.name)
        while scan_once(session, store, on_stored):  # until a scan finds nothing: mail that came during a
            pass  # scan may have been announced inside the MOVE's answer, which imapclient does not hand us
        backoff.failures = 0
        wait_for_mail(session, stop, max(1.0, min(300.0, lease_seconds / 3)))


def watch(box: ImapMailbox, store: Store, on_stored: OnStored, stop: threading.Event, *,
          holder: str | None = None, lease_seconds: float = 60.0, backoff_cap: float = 60.0) -> None:
    """Watch one mailbox until `stop` is set; never raises for a server, network or store failure."""
    holder = holder or new_holder()
    backoff = Backoff(cap=backoff_cap)
    try:
        while not stop.is_set():
            if not acquire_lease(store, box.name, holder, lease_seconds):
                stop.wait(max(0.5, min(10.0, lease_seconds / 3)))  # another machine watches it
                continue
            graceful, session = True, None
            try:
                session = open_session(box)
                log.info("imap %s: watching (uidvalidity %s, %s)", box.name, session.uidvalidity,
                         f"moving to {session.processed}" if session.processed else "flagging")
                _serve(session, store, on_stored, stop, holder, lease_seconds, backoff)
            except LeaseLost:
                log.warning("imap %s: lease lost to another watcher", box.name)
            except Exception as exc:  # a watcher thread must outlive any failure and retry
                graceful, delay = False, backoff.next()
                level = logging.WARNING if isinstance(exc, CONNECTION_ERRORS) else logging.ERROR
                log.log(level, "imap %s: %s: %s; reconnecting in %.1f s", box.name, type(exc).__name__, exc, delay,
                        exc_info=level == logging.ERROR)
                stop.wait(delay)
            finally:
                if session is not None:
                    close_session(session, graceful=graceful)
    finally:
        try:
            release_lease(store, box.name, holder)
        except Exception:
            log.exception("imap %s: could not release the lease (it will expire)", box.name)
