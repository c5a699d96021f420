"""Keep long-running parts alive: restart a worker that exits, with backoff.

An RQ worker whose Redis goes away mid-job exits for good; a supervisor brings it back. Under
`frontdesk run` the parts are threads of one process; `frontdesk worker` supervises a child
process per invocation, so a crash in a job cannot take the supervisor with it.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("frontdesk.supervisor")


def backoff(failures: int) -> float:
    return min(30.0, 0.5 * (2 ** min(failures, 6)))


def supervise_thread(name: str, target: Callable[[], None], stop: threading.Event) -> threading.Thread:
    """Run `target` in a thread; when it returns or raises before `stop` is set, start it again."""

    def loop() -> None:
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                target()
            except Exception as exc:
                log.warning("%s stopped: %s", name, exc)
            if stop.is_set():
                return
            failures = 0 if time.monotonic() - started > 60 else failures + 1
            delay = backoff(failures)
            log.info("restarting %s in %.1f s", name, delay)
            stop.wait(delay)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def supervise_process(argv: list[str]) -> int:
    """Run a child command until SIGTERM/SIGINT; restart it whenever it exits on its own."""
    stop = threading.Event()
    child: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        for proc in child:
            proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failures = 0
    while not stop.is_set():
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, *argv])
        child[:] = [proc]
        code = proc.wait()
        if stop.is_set():
            return 0
        failures = 0 if time.monotonic() - started > 60 else failures + 1
        delay = backoff(failures)
        log.warning("worker exited with %s; restarting in %.1f s", code, delay)
        stop.wait(delay)
    return 0
