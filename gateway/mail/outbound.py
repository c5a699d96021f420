"""Sending mail out: to the relay in config, or as .eml files under <data dir>/outbox/.

With no relay a newcomer can open the outbox folder and read exactly what would have been sent.
Connections to the relay are kept per thread and reopened on failure, because opening one per
message costs more than the message.
"""

from __future__ import annotations

import os
import smtplib
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class SendError(RuntimeError):
    """The relay refused or could not be reached; the caller keeps the message pending."""

    permanent = False


class PermanentSendError(SendError):
    """The relay refused for good (5xx): trying again would only be refused again."""

    permanent = True


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: str  # "none", "starttls", "ssl"
    username: str = ""
    password: str = ""


def parse_relay(url: str) -> Relay | None:
    """smtp://host:port (plain), smtp+starttls://user:pass@host:587, smtps://host:465."""
    if not url:
        return None
    parts = urlsplit(url)
    tls = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
    if tls is None or not parts.hostname:
        raise ValueError(f"FRONTDESK_RELAY must look like smtp://host:port, not {url!r}")
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[tls]
    return Relay(parts.hostname, parts.port or default_port, tls, unquote(parts.username or ""), unquote(parts.password or ""))


_local = threading.local()


def _connection(relay: Relay) -> smtplib.SMTP:
    conn = getattr(_local, "smtp", None)
    if conn is not None and getattr(_local, "relay", None) == relay:
        return conn
    if relay.tls == "ssl":
        conn = smtplib.SMTP_SSL(relay.host, relay.port, timeout=30)
    else:
        conn = smtplib.SMTP(relay.host, relay.port, timeout=30)
    try:
        if relay.tls == "starttls":
            conn.starttls()
        if relay.username:
            conn.login(relay.username, relay.password)
    except Exception:
        conn.close()
        raise
    _local.smtp, _local.relay = conn, relay
    return conn


def _drop_connection() -> None:
    conn = getattr(_local, "smtp", None)
    _local.smtp = None
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass


def send(relay_url: str, outbox: Path, sender: str, recipients: list[str], message: bytes) -> str:
    """Deliver one message; returns where it went. Raises SendError when it could not."""
    relay = parse_relay(relay_url)
    if relay is None:
        return write_outbox(outbox, message)
    for attempt in (1, 2):  # a kept connection may have timed out at the relay: reopen once
        try:
            _connection(relay).sendmail(sender, recipients, message)
            return f"relay {relay.host}:{relay.port}"
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"relay refused recipients: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            _drop_connection()
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(f"relay answered {exc.smtp_code} {exc.smtp_error!r}") from exc
            if attempt == 2:
                raise SendError(f"relay answered {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            _drop_connection()
            if attempt == 2:
                raise SendError(f"relay {relay.host}:{relay.port} unreachable: {exc}") from exc
    raise SendError("unreachable")  # pragma: no cover - the loop always returns or raises


def write_outbox(outbox: Path, message: bytes) -> str:
    """Write atomically (temp file, fsync, rename) so a reader never sees half a message."""
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
    tmp = outbox / f".{name}.tmp"
    with tmp.open("wb") as handle:
        handle.write(message)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.rename(outbox / name)
    return str(outbox / name)


def normalise_line_endings(raw: bytes) -> bytes:
    """CRLF everywhere: bare CR or LF in a stored message must not reach a relay (SMTP smuggling)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
