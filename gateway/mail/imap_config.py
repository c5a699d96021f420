"""IMAP mailboxes from frontdesk.toml (`[[imap]]` tables) and how to open a connection to one.

Kept apart from the watcher so the rules a configuration must meet (TLS mode, where the password
comes from, the shared address being a known [[mailbox]]) read in one place and fail at start-up
with a message that names the table, not at the first connection.
"""

from __future__ import annotations

import hashlib
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from gateway.config import Config, ConfigError

TLS_MODES = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class ImapMailbox:
    """One watched folder. The password is not a field: it is read at connect time and never kept."""

    host: str
    username: str
    address: str
    port: int = 993
    tls: str = "ssl"
    password_env: str = ""
    password_file: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Frontdesk/Processed"  # "" = keep messages in place and flag them
    channel: str = "email"
    idle: bool = True
    poll_seconds: float = 30.0
    ca_file: str = ""
    tls_verify: bool = True
    timeout: float = 60.0

    @property
    def name(self) -> str:
        """The mailbox's id in logs, the checkpoint and the lease."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:200]

    @property
    def key_prefix(self) -> str:
        """Prefix of the store's idempotency key; a digest keeps keys under the column's 100 chars."""
        return "imap:" + hashlib.sha256(self.name.encode()).hexdigest()[:16] + ":"

    def password(self) -> str:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise ConfigError(f"imap {self.name}: environment variable {self.password_env} is not set")
            return value
        return Path(self.password_file).read_text().rstrip("\r\n")


def _one(table: Mapping[str, Any], config: Config, index: int) -> ImapMailbox:
    where = f"[[imap]] #{index + 1}"
    try:
        host, username, address = str(table["host"]), str(table["username"]), str(table["address"]).lower()
    except KeyError as exc:
        raise ConfigError(f"{where}: {exc.args[0]} is required") from exc
    tls = str(table.get("tls", "ssl"))
    if tls not in TLS_MODES:
        raise ConfigError(f"{where}: tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    if bool(table.get("password_env")) == bool(table.get("password_file")):
        raise ConfigError(f"{where}: give exactly one of password_env or password_file")
    shared = config.mailbox(address)
    if shared is None:
        raise ConfigError(f"{where}: address {address} must also be declared as a [[mailbox]]")
    poll = float(table.get("poll_seconds", 30))
    if poll <= 0:
        raise ConfigError(f"{where}: poll_seconds must be positive")
    return ImapMailbox(
        host=host,
        username=username,
        address=address,
        port=int(table.get("port", 993 if tls == "ssl" else 143)),
        tls=tls,
        password_env=str(table.get("password_env", "")),
        password_file=str(table.get("password_file", "")),
        folder=str(table.get("folder", "INBOX")),
        processed_folder=str(table.get("processed_folder", "Frontdesk/Processed")),
        channel=str(table.get("channel", shared.channel)),
        idle=bool(table.get("idle", True)),
        poll_seconds=poll,
        ca_file=str(table.get("ca_file", "")),
        tls_verify=bool(table.get("tls_verify", True)),
    )


def imap_mailboxes(config: Config) -> list[ImapMailbox]:
    """Every [[imap]] table of the configuration, checked; an empty list when there are none."""
    tables = config.extra.get("imap", [])
    if isinstance(tables, Mapping):
        tables = [tables]
    boxes = [_one(table, config, i) for i, table in enumerate(tables)]
    names = [box.name for box in boxes]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"[[imap]]: {name} is declared twice")
    return boxes


def tls_context(box: ImapMailbox) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=box.ca_file or None)
    if not box.tls_verify:  # a private server with a self-signed certificate, by explicit choice
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def quiet(client: IMAPClient) -> None:
    """Stop this connection's wire log: at DEBUG, imaplib would log every fetched message body.

    Per connection (imaplib's own `debug` level), not by silencing a logger for the whole process.
    """
    imap = getattr(client, "_imap", None)
    if imap is not None and hasattr(imap, "debug"):
        imap.debug = 0


def connect(box: ImapMailbox) -> IMAPClient:
    """A logged-in connection: TLS from the first byte, STARTTLS before login, or plain (tests, localhost)."""
    context = tls_context(box) if box.tls != "none" else None
    client = IMAPClient(box.host, box.port, ssl=box.tls == "ssl", ssl_context=context, timeout=box.timeout)
    quiet(client)
    try:
        if box.tls == "starttls":
            client.starttls(context)
        client.login(box.username, box.password())
    except BaseException:
        client.shutdown()
        raise
    return client
