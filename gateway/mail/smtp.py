"""The SMTP edge: accept mail for our shared mailboxes only, answer 250 only once it is stored.

A thin edge in the aiosmtpd style: `handle_RCPT` refuses unknown recipients (550, never an open
relay), `handle_DATA` hands the bytes to the group committer and answers when the commit is done.
No parsing or classification happens inside the SMTP session. When the store cannot commit, the
sender gets a 451 and tries again later: never a 250 for mail we do not hold.

Group commit: every session's message waits on one writer thread that commits whatever is pending
in a single transaction and enqueues the intake jobs in one Redis round trip; under load that
turns a thousand fsyncs into a few dozen.

Hardening (the `[smtp]` table of frontdesk.toml): aiosmtpd 1.4.6, which ends DATA only at
CRLF.CRLF (1.4.5, CVE-2024-27305: SMTP smuggling) and drops plaintext pipelined after STARTTLS
(1.4.6, CVE-2024-34083); at most `max_connections` sessions (421 past it), each silent for at most
`session_timeout` seconds and alive for at most `max_session_time`, so slow clients cannot pin the
listener; recipients, message size and header size capped; lines over 1,000 bytes refused by
aiosmtpd; STARTTLS offered when `tls_cert` and `tls_key` are set (`require_tls` to insist).
"""

from __future__ import annotations

import asyncio
import logging
import queue as stdlib_queue
import ssl
import threading
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway import jobs
from gateway.config import Config
from gateway.intake import new_raw_message
from gateway.services import Services
from gateway.store.models import RawMessage

log = logging.getLogger("frontdesk.smtp")

MAX_BATCH = 64  # one intake job each: small enough to finish well inside JOB_TIMEOUT
DEFAULTS: dict[str, Any] = {
    "max_connections": 200,
    "session_timeout": 60,
    "max_session_time": 600,
    "max_header_bytes": 2 * 1024 * 1024,
    "tls_cert": "",
    "tls_key": "",
    "require_tls": False,
}


def smtp_settings(config: Config) -> dict[str, Any]:
    """The `[smtp]` table of frontdesk.toml over the defaults above."""
    return {**DEFAULTS, **dict(config.extra.get("smtp", {}))}


def tls_context(settings: dict[str, Any]) -> ssl.SSLContext | None:
    """A server context for STARTTLS when a certificate is configured; None when it is not."""
    cert, key = str(settings["tls_cert"] or ""), str(settings["tls_key"] or "")
    if not cert and not key:
        return None
    if not (cert and key):
        raise ValueError("[smtp] needs both tls_cert and tls_key for STARTTLS, or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def header_block_size(raw: bytes) -> int:
    """Bytes before the first blank line (CRLF or bare LF), without copying a 25 MB message."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)


@dataclass
class _Pending:
    row: RawMessage
    future: Future[int]


class GroupCommitter:
    """One writer thread: commits pending messages together, then resolves each sender's wait."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._pending: stdlib_queue.Queue[_Pending | None] = stdlib_queue.Queue()
        self._thread = threading.Thread(target=self._run, name="smtp-committer", daemon=True)
        self._thread.start()

    def submit(self, row: RawMessage) -> Future[int]:
        future: Future[int] = Future()
        self._pending.put(_Pending(row, future))
        return future

    def close(self) -> None:
        self._pending.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._pending.get_nowait()
                except stdlib_queue.Empty:
                    break
                if item is None:
                    self._pending.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except Exception:  # never let the one writer thread die: every later sender would hang
                log.exception("group commit failed")
                for p in batch:
                    _resolve(p.future, error=RuntimeError("commit failed"))

    def _commit(self, batch: list[_Pending]) -> None:
        now = datetime.now(UTC)
        for p in batch:
            p.row.enqueued_at = now  # enqueued right after the commit; the sweeper covers a crash between
        try:
            with self.services.store.session() as session:
                session.add_all([p.row for p in batch])
                session.commit()
                ids = [p.row.id for p in batch]
        except Exception as exc:  # the store is down or full: every sender in the batch gets a 451
            log.error("store unavailable, %d message(s) refused with 451: %s", len(batch), exc)
            for p in batch:
                _resolve(p.future, error=exc)
            return
        try:  # before the 250, so a sender's "stored" also means "queued" unless Redis is down
            jobs.enqueue_intake_many(self.services, ids)
        except Exception as exc:  # Redis is transport only: the sweeper re-enqueues from the store
            log.warning("could not enqueue %d stored message(s), the sweeper will: %s", len(ids), exc)
        for p, raw_id in zip(batch, ids, strict=True):
            _resolve(p.future, result=raw_id)


def _resolve(future: Future[int], *, result: int | None = None, error: BaseException | None = None) -> None:
    """Answer a waiting sender; one who hung up meanwhile (a cancelled wait) is simply skipped.

    The message is stored either way: a client that vanished before the 250 sends it again, and the
    copy is recognised as a duplicate.
    """
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result if result is not None else 0)
    except InvalidStateError:
        pass


class IntakeHandler:
    def __init__(self, services: Services, committer: GroupCommitter, max_header_bytes: int = 2 * 1024 * 1024) -> None:
        self.services = services
        self.committer = committer
        self.max_header_bytes = max_header_bytes

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        config = self.services.config
        if config.mailbox(address) is None:
            return f"550 5.1.1 <{address}>: no such mailbox here (this server accepts mail only for its own shared mailboxes)"
        if len(envelope.rcpt_tos) >= config.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {config.max_recipients} per message)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        config = self.services.config
        box = config.mailbox(envelope.rcpt_tos[0])
        assert box is not None  # handle_RCPT admitted only our mailboxes
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if header_block_size(raw) > self.max_header_bytes:
            return f"552 5.3.4 Message header too large (at most {self.max_header_bytes} bytes)"
        if str(envelope.mail_from or "") in ("", "<>"):
            # final delivery records the envelope sender (RFC 5321 4.4); a null one marks a bounce for hygiene
            raw = b"Return-Path: <>\r\n" + raw
        row = new_raw_message(
            raw, channel=box.channel, mailbox=box.address, source="smtp", envelope_from=str(envelope.mail_from or "")
        )
        try:
            raw_id = await asyncio.wrap_future(self.committer.submit(row))
        except Exception:
            return "451 4.3.0 Message not stored: the store is unavailable, please try again later"
        log.info("stored message %s raw=%d for %s (%d bytes)", row.message_id or "(no id)", raw_id, box.address, len(raw))
        return f"250 2.0.0 Stored as {raw_id}"


class CappedSMTP(SMTP):
    """aiosmtpd with a cap on concurrent connections and on a session's lifetime (it has neither).

    aiosmtpd's own timeout restarts at every command, so a client sending NOOP every minute would
    hold its slot for ever; the lifetime cap ends any session after `max_session_time` seconds.
    """

    def __init__(self, handler: Any, *, counter: list[int], max_connections: int, max_session_time: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._counter = counter
        self._max_connections = max_connections
        self._max_session_time = max_session_time
        self._counted = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is None:  # a new connection (STARTTLS calls this again on the same one)
            if self._counter[0] >= self._max_connections:
                transport.write(b"421 4.7.0 Too many connections, try again later\r\n")  # type: ignore[attr-defined]
                transport.close()
                return
            self._counter[0] += 1
            self._counted = True
            self._deadline = self.loop.call_later(self._max_session_time, self._session_expired)
        super().connection_made(transport)

    def _session_expired(self) -> None:
        log.info("%r session over %ss: closed", self.session.peer if self.session else "?", self._max_session_time)
        if self.transport is not None:
            self.transport.write(b"421 4.4.2 Session time limit reached, closing\r\n")  # type: ignore[attr-defined]
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if not self._counted:
            return
        self._counted = False
        self._counter[0] -= 1
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(error)


class IntakeController(Controller):
    def __init__(self, services: Services, **kwargs: Any) -> None:
        config = services.config
        settings = smtp_settings(config)
        self.committer = GroupCommitter(services)
        self.counter = [0]
        self.max_connections = int(settings["max_connections"])
        self.max_session_time = float(settings["max_session_time"])
        context = tls_context(settings)
        if context is not None:
            kwargs.setdefault("tls_context", context)
            kwargs.setdefault("require_starttls", bool(settings["require_tls"]))
        super().__init__(
            IntakeHandler(services, self.committer, int(settings["max_header_bytes"])),
            hostname=kwargs.pop("hostname", config.smtp_host),
            port=kwargs.pop("port", config.smtp_port),
            data_size_limit=config.max_message_bytes,
            timeout=float(settings["session_timeout"]),
            **kwargs,
        )

    def factory(self) -> SMTP:
        return CappedSMTP(
            self.handler,
            counter=self.counter,
            max_connections=self.max_connections,
            max_session_time=self.max_session_time,
            **self.SMTP_kwargs,
        )

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert=no_assert)
        self.committer.close()
