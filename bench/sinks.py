"""SMTP sinks for the benchmarks, run as their own processes.

    python bench/sinks.py bare PORT            answers 250 to everything, keeps nothing
    python bench/sinks.py record PORT FILE     the relay: appends "<arrival time> <Message-ID> <rcpt> <In-Reply-To>"
                                               per message ("-" when a header is missing)
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
_IN_REPLY_TO = re.compile(rb"(?im)^in-reply-to:\s*(<[^>]+>)")


class Bare:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


class Record:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - closed at exit

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        at = time.time()
        content = envelope.original_content or b""
        match = _MESSAGE_ID.search(content)
        mid = match.group(1).decode() if match else "-"
        match = _IN_REPLY_TO.search(re.split(rb"\r?\n\r?\n", content, maxsplit=1)[0])  # headers only
        reply_to = match.group(1).decode(errors="replace") if match else "-"
        self.out.write(f"{at:.6f} {mid} {envelope.rcpt_tos[0]} {reply_to}\n")
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
