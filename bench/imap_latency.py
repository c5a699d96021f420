"""IMAP intake figures against a real Dovecot: APPEND-to-stored latency (IDLE and polling), backlog drain.

Run from the repository root:  .venv/bin/python bench/imap_latency.py [--messages 200] [--backlog 1000]
Latency is measured one message at a time (append, wait until on_stored fires, pause 0.1-0.3 s), so
it is the unloaded path: Dovecot's IDLE notification, our fetch, the SQLite commit (WAL, synchronous=FULL).
Acknowledgement latency at a relay needs the pipeline and workers wired in; not measured here yet.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.mail.imap import ImapMailbox, watch  # noqa: E402
from gateway.mail.imap_checkpoint import load_checkpoint  # noqa: E402
from gateway.store import Store, open_store  # noqa: E402
from tests.support.dovecot import Dovecot, message  # noqa: E402

PASSWORD = "bench-pw"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Watcher:
    """A watcher thread whose on_stored records when each raw id arrived."""

    def __init__(self, box: ImapMailbox, store: Store) -> None:
        self.arrived: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watch, args=(box, store, self._stored, self.stop), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while load_checkpoint(store, box.name) is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def _stored(self, raw_id: int) -> None:
        self.arrived[raw_id] = time.perf_counter()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrived) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.arrived)} of {count} stored after {timeout} s")
            time.sleep(0.001)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)


def latency(dovecot: Dovecot, user: str, box: ImapMailbox, store: Store, n: int) -> list[float]:
    watcher = Watcher(box, store)
    try:
        results = []
        with dovecot.client(user) as imap:
            for i in range(n):
                started = time.perf_counter()
                imap.append("INBOX", message(i, size=4096))
                watcher.wait_for(i + 1, 30)
                results.append(max(watcher.arrived.values()) - started)
                time.sleep(random.uniform(0.1, 0.3))  # let the watcher settle into IDLE: arrivals independent of it
        return results
    finally:
        watcher.close()


def backlog(dovecot: Dovecot, user: str, box: ImapMailbox, store: Store, n: int) -> float:
    with dovecot.client(user) as imap:
        for start in range(0, n, 100):
            imap.multiappend("INBOX", [message(i, size=4096) for i in range(start, min(n, start + 100))])
    started = time.perf_counter()
    watcher = Watcher(box, store)
    try:
        watcher.wait_for(n, 300)
        return n / (time.perf_counter() - started)
    finally:
        watcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops Dovecot on timeout/kill
    os.environ["FD_BENCH_IMAP_PW"] = PASSWORD
    users = {name: PASSWORD for name in ("idle", "poll", "backlog")}
    dovecot = Dovecot(users)
    tmp = tempfile.TemporaryDirectory(prefix="frontdesk-bench-")
    try:
        dovecot.start()
        store = open_store(f"sqlite:///{tmp.name}/bench.db")

        def box(user: str, **kw: object) -> ImapMailbox:
            return ImapMailbox(host="127.0.0.1", port=dovecot.port, tls="none", username=user,
                               password_env="FD_BENCH_IMAP_PW", address=f"{user}@example.org", **kw)  # type: ignore[arg-type]

        print(f"command: {' '.join([sys.executable, *sys.argv])}")
        print(f"messages: 4 KB, {args.messages} one at a time; store: SQLite (WAL, synchronous=FULL); Dovecot 2.3")
        for name, cfg in (("IDLE", box("idle", poll_seconds=600)),
                          (f"polling every {args.poll_seconds:g} s", box("poll", idle=False, poll_seconds=args.poll_seconds))):
            values = latency(dovecot, cfg.username, cfg, store, args.messages)
            print(f"APPEND -> stored, {name}: p50 {percentile(values, 50) * 1000:.0f} ms, "
                  f"p99 {percentile(values, 99) * 1000:.0f} ms, mean {statistics.mean(values) * 1000:.0f} ms")
        rate = backlog(dovecot, "backlog", box("backlog", poll_seconds=600), store, args.backlog)
        print(f"backlog of {args.backlog}: drained at {rate:.0f} messages/s (stored, moved, checkpointed)")
    finally:
        dovecot.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
