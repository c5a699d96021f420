"""SMTP sinks for the benchmarks, run as their own processes.

    python bench/sinks.py bare PORT            answers 250 to everything, keeps nothing
    python bench/sinks.py record PORT FILE     the relay: appends "<arrival time> <Message-ID> <rcpt>" per message
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"(?im)^message-id:\s*(<[^>]+>)")


class Bare:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


class Record:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - closed at exit

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        match = _MESSAGE_ID.search(envelope.original_content or b"")
        mid = match.group(1).decode() if match else "-"
        self.out.write(f"{time.time():.6f} {mid} {envelope.rcpt_tos[0]}\n")
        return "250 OK"


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    handler = Bare() if kind == "bare" else Record(sys.argv[3])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
