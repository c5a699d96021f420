"""`frontdesk imap`: run every configured IMAP watcher, one thread each, until SIGTERM or SIGINT.

Threads, not processes: a watcher spends its life waiting in IDLE, so dozens fit in one process, and
the lease in the store keeps a mailbox to one active watcher across machines anyway.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

import redis

from gateway.config import Config, load_config
from gateway.jobs import enqueue_intake
from gateway.mail.imap import OnStored, watch
from gateway.mail.imap_config import ImapMailbox, imap_mailboxes
from gateway.services import Services, services_from_config
from gateway.store import Store

log = logging.getLogger(__name__)


def _start(boxes: list[ImapMailbox], store: Store, on_stored: OnStored, stop: threading.Event) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=watch, args=(box, store, on_stored, stop), name=f"imap {box.name}", daemon=True)
        for box in boxes
    ]
    for thread in threads:
        thread.start()
    log.info("imap: %d watcher(s) started", len(threads))
    return threads


def start_watchers(services: Services, boxes: list[ImapMailbox], stop: threading.Event) -> list[threading.Thread]:
    """For `frontdesk run`: watcher threads that enqueue the intake job for each stored message."""
    return _start(boxes, services.store, lambda raw_id: enqueue_intake(services, raw_id), stop)


def run_watchers(config: Config, store: Store, on_stored: OnStored, stop: threading.Event | None = None) -> None:
    """Watch all [[imap]] mailboxes until `stop` is set, or until SIGTERM/SIGINT when no event is given.

    The signals, which only the main thread can catch, end the watchers cleanly: each releases its
    lease, so a watcher on another machine takes over at once instead of after the lease expires.
    """
    boxes = imap_mailboxes(config)
    if not boxes:
        log.info("imap: no [[imap]] mailboxes configured")
        return
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())  # type: ignore[union-attr]
    threads = _start(boxes, store, on_stored, stop)
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)
    log.info("imap: watchers stopped")


def _command(args: argparse.Namespace) -> int:
    """Without Redis the watchers still store: the sweeper re-enqueues rows that are still new."""
    config = load_config(getattr(args, "config", None))
    # a client that connects on first use: Redis may come and go while the watchers run
    services = services_from_config(config, redis_client=redis.Redis.from_url(config.redis_url, socket_connect_timeout=2))

    def on_stored(raw_id: int) -> None:
        try:
            enqueue_intake(services, raw_id)
        except redis.exceptions.RedisError as exc:
            log.warning("imap: raw=%d stored, not enqueued (the sweeper will): %s", raw_id, exc)

    run_watchers(config, services.store, on_stored)
    return 0


def register(subparsers: Any) -> None:
    """Add `imap` to the `frontdesk` command (subparsers from ArgumentParser.add_subparsers())."""
    parser = subparsers.add_parser("imap", help="watch the configured IMAP mailboxes (IDLE or polling)",
                                   description=__doc__)
    parser.set_defaults(func=_command)

