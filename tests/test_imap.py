"""The IMAP watcher against a real Dovecot: stored once, never lost, whatever the server or we do."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from imapclient import SEEN
from sqlalchemy import select

from gateway.config import ConfigError, load_config
from gateway.mail.imap import ImapMailbox, imap_mailboxes, open_session, scan_once, watch
from gateway.mail.imap_checkpoint import lease_holder, load_checkpoint
from gateway.store import RawMessage, Store, open_store
from tests.support.dovecot import Dovecot, message

PASSWORD = "s3cret-Imap-pw"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot({"alice": PASSWORD})
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path}/t.db")


@pytest.fixture
def box(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> ImapMailbox:
    monkeypatch.setenv("FD_TEST_IMAP_PW", PASSWORD)
    return ImapMailbox(host="127.0.0.1", port=dovecot.port, tls="none", username="alice",
                       password_env="FD_TEST_IMAP_PW", address="complaints@example.org", poll_seconds=600)


def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def stored(store: Store) -> list[RawMessage]:
    with store.session() as session:
        return list(session.scalars(select(RawMessage).where(RawMessage.source == "imap").order_by(RawMessage.id)))


@contextmanager
def watching(box: ImapMailbox, store: Store, **kwargs: float | str) -> Iterator[list[int]]:
    """Run a watcher thread; yield the raw ids handed to on_stored; always stop it."""
    handed: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(box, store, handed.append, stop), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        wait_until(lambda: load_checkpoint(store, box.name) is not None, what="the watcher's first scan")
        yield handed
    finally:
        stop.set()
        thread.join(15)
        assert not thread.is_alive(), "watcher did not stop"


def test_append_is_stored_within_seconds_through_idle(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    raw = message(1)
    with watching(box, store) as handed:  # poll_seconds=600: only IDLE can wake the watcher in time
        started = time.monotonic()
        dovecot.append("alice", raw)
        wait_until(lambda: len(stored(store)) == 1, 5, "the message to be stored")
        assert time.monotonic() - started < 3
        wait_until(lambda: dovecot.uids("alice", "INBOX") == [], 5, "the move")
        rows = stored(store)
        assert rows[0].raw == raw and rows[0].mailbox == "complaints@example.org" and rows[0].channel == "email"
        assert handed == [rows[0].id]
    assert len(dovecot.uids("alice", "Frontdesk/Processed")) == 1


def test_polling_when_idle_is_off(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    box = dataclasses.replace(box, idle=False, poll_seconds=0.3)
    with watching(box, store):
        dovecot.append("alice", message(1))
        wait_until(lambda: len(stored(store)) == 1, 5, "the message to be stored by polling")


def test_message_seen_by_a_person_is_still_picked_up_and_never_marked_seen(
    dovecot: Dovecot, store: Store, box: ImapMailbox
) -> None:
    with dovecot.client("alice") as imap:
        imap.append("INBOX", message(1), flags=[SEEN])
        imap.append("INBOX", message(2))
    with watching(box, store):
        wait_until(lambda: len(stored(store)) == 2, 5, "both messages")
    with dovecot.client("alice") as imap:
        imap.select_folder("Frontdesk/Processed", readonly=True)
        flags = imap.get_flags(imap.search("ALL"))
    assert sorted(SEEN in f for f in flags.values()) == [False, True]  # the unread one stays unread


@pytest.mark.slow
def test_dovecot_restart_mid_idle_resumes_without_loss_or_duplicate(
    dovecot: Dovecot, store: Store, box: ImapMailbox
) -> None:
    with watching(box, store) as handed:
        dovecot.append("alice", message(1))
        wait_until(lambda: len(stored(store)) == 1, 5, "the first message")
        cpu = time.process_time()
        dovecot.stop(hard=True)  # a crash: the IDLE socket reaches EOF with no BYE
        time.sleep(2)
        assert time.process_time() - cpu < 0.5, "the watcher spun on a closed IDLE connection"
        dovecot.start()
        dovecot.append("alice", message(2))
        dovecot.append("alice", message(3))
        wait_until(lambda: len(stored(store)) == 3, 20, "messages appended after the restart")
        dovecot.kick("alice")  # BYE from the server: detected at once, then reconnect
        dovecot.append("alice", message(4))
        wait_until(lambda: len(stored(store)) == 4, 20, "a message appended after a kick")
        assert sorted(handed) == [r.id for r in stored(store)]
    rows = stored(store)
    assert len({r.message_id for r in rows}) == 4
    assert len(dovecot.uids("alice", "Frontdesk/Processed")) == 4 and dovecot.uids("alice", "INBOX") == []


CRASH = """
import json, os, signal, sys
from gateway.mail import imap
from gateway.store import open_store
box = imap.ImapMailbox(**json.loads(sys.argv[1]))
imap.dispose = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # die after storing, before moving
imap.scan_once(imap.open_session(box), open_store(sys.argv[2]), lambda raw_id: None)
"""


def crash_between_store_and_move(box: ImapMailbox, store: Store) -> None:
    proc = subprocess.run([sys.executable, "-c", CRASH, json.dumps(dataclasses.asdict(box)), str(store.engine.url)],
                          cwd=ROOT, env=os.environ.copy(), capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()


def test_killed_between_storing_and_moving_gives_one_stored_message(
    dovecot: Dovecot, store: Store, box: ImapMailbox
) -> None:
    dovecot.append("alice", message(1))
    crash_between_store_and_move(box, store)
    assert len(stored(store)) == 1 and len(dovecot.uids("alice", "INBOX")) == 1  # stored, not moved
    with watching(box, store) as handed:
        wait_until(lambda: dovecot.uids("alice", "INBOX") == [], 10, "the move after the restart")
        assert handed == [stored(store)[0].id]  # handed over again: the crash may have preceded the enqueue
    assert len(stored(store)) == 1
    assert load_checkpoint(store, box.name).last_uid == 1  # type: ignore[union-attr]


def test_uidvalidity_change_rescans_without_duplicates(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    flagging = dataclasses.replace(box, processed_folder="")  # messages stay in INBOX, flagged $Frontdesk
    for n in range(3):
        dovecot.append("alice", message(n, message_id=False))
    session = open_session(flagging)
    assert scan_once(session, store, lambda raw_id: None) == 3
    session.client.logout()
    old = load_checkpoint(store, box.name)
    dovecot.reset_uidvalidity("alice")  # new UIDVALIDITY, and the $Frontdesk keywords are forgotten too
    dovecot.append("alice", message(3, message_id=False))
    with watching(flagging, store):
        wait_until(lambda: len(stored(store)) == 4, 10, "the new message")
        wait_until(lambda: load_checkpoint(store, box.name).last_uid == 4, 10, "the re-scan")  # type: ignore[union-attr]
    assert load_checkpoint(store, box.name).uidvalidity != old.uidvalidity  # type: ignore[union-attr]
    rows = stored(store)
    assert len(rows) == 4 and len({r.content_hash for r in rows}) == 4


def test_uidvalidity_change_after_a_crash_before_the_move(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    dovecot.append("alice", message(1, message_id=False))
    with watching(box, store):  # message 1 handed over under the old UIDVALIDITY
        wait_until(lambda: dovecot.uids("alice", "INBOX") == [], 10, "the first move")
    dovecot.append("alice", message(2, message_id=False))
    crash_between_store_and_move(box, store)
    dovecot.reset_uidvalidity("alice")
    with watching(box, store):
        wait_until(lambda: dovecot.uids("alice", "INBOX") == [], 10, "the move")
    assert len(stored(store)) == 2


@pytest.mark.slow
def test_backlog_of_1000_is_drained_each_stored_once(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    with dovecot.client("alice") as imap:
        for start in range(0, 1000, 100):
            imap.multiappend("INBOX", [message(n) for n in range(start, start + 100)])
    started = time.monotonic()
    with watching(box, store) as handed:
        wait_until(lambda: dovecot.uids("alice", "INBOX") == [], 60, "the backlog to drain")
    rows = stored(store)
    assert len(rows) == 1000 and len({r.message_id for r in rows}) == 1000 and len(set(handed)) == 1000
    assert len(dovecot.uids("alice", "Frontdesk/Processed")) == 1000
    assert time.monotonic() - started < 60


def test_one_active_watcher_per_mailbox(dovecot: Dovecot, store: Store, box: ImapMailbox) -> None:
    with watching(box, store, holder="machine-a", lease_seconds=3):
        with watching(box, store, holder="machine-b", lease_seconds=3) as handed_b:
            dovecot.append("alice", message(1))
            wait_until(lambda: len(stored(store)) == 1, 5, "the message")
            time.sleep(2)  # past a renewal: A keeps the lease, B keeps waiting
            assert lease_holder(store, box.name) == "machine-a" and handed_b == []
        # B stopped first; now stop A and start B again to see it take over
    with watching(box, store, holder="machine-b", lease_seconds=3) as handed_b:
        dovecot.append("alice", message(2))
        wait_until(lambda: len(stored(store)) == 2, 10, "B to take over")
        assert lease_holder(store, box.name) == "machine-b" and len(handed_b) == 1


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_and_starttls(mode: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Dovecot({"alice": PASSWORD}, tls=True)
    try:
        server.start()
        monkeypatch.setenv("FD_TEST_IMAP_PW", PASSWORD)
        box = ImapMailbox(host="127.0.0.1", port=server.ssl_port if mode == "ssl" else server.port, tls=mode,
                          username="alice", password_env="FD_TEST_IMAP_PW", address="complaints@example.org",
                          ca_file=str(server.cert))
        server.append("alice", message(1))
        session = open_session(box)
        assert scan_once(session, store, lambda raw_id: None) == 1
        assert session.client._imap.sock.version().startswith("TLS")  # encrypted for real
        session.client.logout()
        untrusted = dataclasses.replace(box, ca_file="")
        with pytest.raises(OSError):  # an unknown certificate is refused
            open_session(untrusted)
    finally:
        server.close()


def test_password_and_bodies_never_logged(
    dovecot: Dovecot, store: Store, box: ImapMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with watching(box, store):
        dovecot.append("alice", message(1))
        wait_until(lambda: len(stored(store)) == 1, 5, "the message")
    assert "Message number 1" not in caplog.text and PASSWORD not in caplog.text
    assert stored(store)[0].message_id in caplog.text  # one line per message, with its Message-ID


def test_config_parsing(tmp_path: Path) -> None:
    base = '[[mailbox]]\naddress = "complaints@example.org"\nchannel = "post"\nqueue = "complaints"\n'
    imap = '[[imap]]\nhost = "mail.example.org"\nusername = "u"\npassword_file = "/run/pw"\naddress = "{a}"\n'
    path = tmp_path / "frontdesk.toml"
    path.write_text(base + imap.format(a="complaints@example.org"))
    (box,) = imap_mailboxes(load_config(str(path), env={"FRONTDESK_DATA_DIR": str(tmp_path)}))
    assert (box.port, box.tls, box.channel, box.processed_folder) == (993, "ssl", "post", "Frontdesk/Processed")
    path.write_text(base + imap.format(a="other@example.org"))
    with pytest.raises(ConfigError, match="must also be declared"):
        imap_mailboxes(load_config(str(path), env={"FRONTDESK_DATA_DIR": str(tmp_path)}))
