"""`frontdesk imap`: run every configured IMAP watcher, one thread each, until SIGTERM or SIGINT.

Threads, not processes: a watcher spends its life waiting in IDLE, so dozens fit in one process, and
the lease in the store keeps a mailbox to one active watcher across machines anyway.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from gateway.config import Config, load_config
from gateway.mail.imap import OnStored, watch
from gateway.mail.imap_config import imap_mailboxes
from gateway.store import Store, open_store

log = logging.getLogger(__name__)


def run_watchers(config: Config, store: Store, on_stored: OnStored, stop: threading.Event | None = None) -> None:
    """Watch all [[imap]] mailboxes until `stop` is set, or until SIGTERM/SIGINT when no event is given.

    `frontdesk run` passes its own `stop` (and runs this in a thread); `frontdesk imap` passes none,
    and then the signals, which only the main thread can catch, end the watchers cleanly: each
    releases its lease so another machine takes over at once.
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
    threads = [
        threading.Thread(target=watch, args=(box, store, on_stored, stop), name=f"imap {box.name}", daemon=True)
        for box in boxes
    ]
    for thread in threads:
        thread.start()
    log.info("imap: %d watcher(s) started", len(threads))
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)
    log.info("imap: watchers stopped")


def default_on_stored(config: Config, store: Store) -> OnStored:
    """Enqueue the intake job when the lead's job module is there; otherwise leave it to the store.

    Either way nothing is lost: a stored row stays `new` until processed, and the store re-enqueues it.
    """
    try:
        from gateway.jobs import enqueue_intake  # type: ignore[attr-defined]
        from gateway.services import services_from_config  # type: ignore[import-not-found]
    except ImportError:
        log.warning("imap: no job queue available; stored messages wait for the store's re-enqueue")
        return lambda raw_id: None
    services = services_from_config(config)
    return lambda raw_id: enqueue_intake(services, raw_id)


def _command(args: argparse.Namespace) -> int:
    config = load_config(getattr(args, "config", None))
    store = open_store(config.database_url)
    run_watchers(config, store, default_on_stored(config, store))
    return 0


def register(subparsers: Any) -> None:
    """Add `imap` to the `frontdesk` command (subparsers from ArgumentParser.add_subparsers())."""
    parser = subparsers.add_parser("imap", help="watch the configured IMAP mailboxes (IDLE or polling)",
                                   description=__doc__)
    parser.set_defaults(func=_command)


WatcherFactory = Callable[[Config, Store], OnStored]
