"""SMTP intake benchmark: the gateway against a bare aiosmtpd sink, measured in the same run.

Postfix's smtp-source sends N messages of 4 KB over 8 sessions, first to a bare aiosmtpd sink
(answers 250, stores nothing), then to `frontdesk smtp` (commits each message durably before its
250) with intake and team workers sending acknowledgements to a recording relay. Prints accepted
messages per second for both, their ratio, and the p50/p99 time from a message's commit (just
before its 250) to its acknowledgement reaching the relay. Medians over several runs.

    .venv/bin/python bench/smtp_throughput.py [--messages 2000] [--sessions 8] [--runs 3] [--workers 2]

Needs Debian's postfix (for /usr/sbin/smtp-source; its daemon need not run) and Redis at
REDIS_URL (default redis://127.0.0.1:6379/13, flushed).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMTP_SOURCE = "/usr/sbin/smtp-source"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def smtp_source(port: int, messages: int, sessions: int, size: int) -> float:
    """Send and return the wall-clock seconds smtp-source took."""
    started = time.perf_counter()
    subprocess.run(
        [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size), "-S", "Complaint about my renewal",
         "-f", "bench@example.com", "-t", "complaints@example.org", f"127.0.0.1:{port}"],
        check=True,
    )
    return time.perf_counter() - started


def sink(kind: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "sinks.py"), kind, str(port), *extra], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def run_bare(args: argparse.Namespace) -> float:
    port = free_port()
    proc = sink("bare", port)
    try:
        return args.messages / smtp_source(port, args.messages, args.sessions, args.size)
    finally:
        proc.terminate()
        proc.wait()


def run_gateway(args: argparse.Namespace) -> tuple[float, list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        relay_port, smtp_port = free_port(), free_port()
        (work / "frontdesk.toml").write_text("[hygiene]\nacknowledgements_per_sender_per_day = 1000000\n")
        env = {
            **os.environ,
            "FRONTDESK_DATA_DIR": str(work / "var"),
            "FRONTDESK_SMTP_PORT": str(smtp_port),
            "FRONTDESK_RELAY": f"smtp://127.0.0.1:{relay_port}",
            "REDIS_URL": args.redis_url,
            "FRONTDESK_LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        subprocess.run([sys.executable, "-c", f"import redis; redis.Redis.from_url({args.redis_url!r}).flushdb()"], check=True)
        if args.database_url.startswith("postgres"):
            reset_postgres(args.database_url)
        subprocess.run([sys.executable, "-m", "gateway.cli", "migrate"], cwd=work, env=env, check=True, capture_output=True)
        record = work / "relay.log"
        procs = [sink("record", relay_port, str(record))]
        cmd = [sys.executable, "-m", "gateway.cli"]
        procs.append(subprocess.Popen([*cmd, "smtp"], cwd=work, env=env))
        # workers run at a lower CPU priority than the listener, as on any machine that shares its
        # cores: accepting (and committing) mail comes first, acknowledging can lag a little
        nice = ["nice", "-n", str(args.worker_nice)]
        for _ in range(args.workers):
            procs.append(subprocess.Popen([*nice, *cmd, "worker", "--no-supervise", "intake"], cwd=work, env=env))
        procs.append(subprocess.Popen([*nice, *cmd, "worker", "--no-supervise", "complaints", "enquiries"], cwd=work, env=env))
        try:
            wait_port(smtp_port)
            seconds = smtp_source(smtp_port, args.messages, args.sessions, args.size)
            deadline = time.monotonic() + args.timeout
            acks: dict[int, float] = {}
            while time.monotonic() < deadline:
                acks = read_acks(record)
                if len(acks) >= args.messages:
                    break
                time.sleep(0.2)
            committed = committed_at(args.database_url or f"sqlite:///{work / 'var' / 'frontdesk.db'}")
            latencies = sorted(at - committed[raw_id] for raw_id, at in acks.items() if raw_id in committed)
            return args.messages / seconds, latencies, len(committed)
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from gateway.store.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def read_acks(path: Path) -> dict[int, float]:
    """Acknowledgement Message-IDs are <ack.REF.RAWID@domain>: the raw id links back to the commit."""
    acks: dict[int, float] = {}
    if not path.exists():
        return acks
    for line in path.read_text().splitlines():
        at, mid, _rcpt = line.split(" ", 2)
        if mid.startswith("<ack."):
            acks[int(mid.split("@")[0].rsplit(".", 1)[1])] = float(at)
    return acks


def committed_at(url: str) -> dict[int, float]:
    """Commit time of every stored message (received_at is stamped just before the commit and the 250)."""
    from sqlalchemy import select

    from gateway.store import RawMessage, open_store

    store = open_store(url, migrate=False)
    with store.session() as session:
        rows = session.execute(select(RawMessage.id, RawMessage.received_at)).all()
    store.engine.dispose()
    return {raw_id: at.timestamp() for raw_id, at in rows}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="intake worker processes")
    parser.add_argument("--worker-nice", type=int, default=10, help="niceness of the worker processes")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for every acknowledgement")
    parser.add_argument(
        "--database-url", default="", help="store (default: SQLite in a temp dir); a PostgreSQL URL is emptied first"
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    bare, gateway, p50s, p99s, drained = [], [], [], [], []
    for run in range(args.runs):
        bare.append(run_bare(args))
        rate, latencies, stored = run_gateway(args)
        gateway.append(rate)
        p50s.append(percentile(latencies, 0.50))
        p99s.append(percentile(latencies, 0.99))
        drained.append(f"{len(latencies)}/{stored}")
        print(f"run {run + 1}: bare {bare[-1]:.0f}/s, gateway {rate:.0f}/s, "
              f"ack latency p50 {p50s[-1]:.2f} s p99 {p99s[-1]:.2f} s, acknowledged {drained[-1]}", flush=True)
    b, g = statistics.median(bare), statistics.median(gateway)
    db = f" --database-url {args.database_url}" if args.database_url else ""
    print(f"\ncommand: .venv/bin/python bench/smtp_throughput.py --messages {args.messages} --sessions {args.sessions} "
          f"--runs {args.runs} --workers {args.workers} --worker-nice {args.worker_nice}{db}")
    print(f"messages: {args.messages} x {args.size} bytes over {args.sessions} sessions (Postfix smtp-source), "
          f"median of {args.runs}")
    print(f"bare aiosmtpd sink:        {b:8.0f} accepted/s")
    store = "PostgreSQL" if args.database_url else "SQLite WAL synchronous=FULL"
    print(f"frontdesk (durable, {store}): {g:8.0f} accepted/s")
    print(f"ratio gateway/bare:        {g / b:8.2f}")
    print(f"250 -> acknowledgement at relay: p50 {statistics.median(p50s):.2f} s, p99 {statistics.median(p99s):.2f} s")


if __name__ == "__main__":
    main()
