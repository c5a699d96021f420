"""IMAP intake figures against a real Dovecot: APPEND-to-stored latency in-process, and the whole gateway as processes.

Run from the repository root:

    .venv/bin/python bench/imap_latency.py [--messages 200] [--backlog 1000] [--runs 3] [--rate 10]

Part 1 (in-process, as before): a watcher thread against Dovecot, one message at a time (append, wait
until on_stored fires, pause 0.1-0.3 s): Dovecot's IDLE notification, our fetch, the SQLite commit
(WAL, synchronous=FULL), for IDLE and for polling; then a backlog drained by that thread alone.

Part 2 (processes, issue 4): `frontdesk imap`, two intake workers and one team worker (complaints,
enquiries, membership; workers under `nice -n 10`), Redis, and a recording relay (bench/sinks.py).
Messages are human complaints (each body different, distinct Message-IDs, one real-looking sender),
APPENDed one at a time at a steady pace; latency runs from the start of each APPEND to its
acknowledgement reaching the relay, matched through the acknowledgement's In-Reply-To. A few
warm-up messages go through first and are not counted. Backlog: N messages APPENDed with no gateway
running, then the gateway started: rates of storing and of acknowledgements reaching the relay.

Every figure is the median over --runs runs. Needs Debian's dovecot-imapd and Redis at --redis-url
(default redis://127.0.0.1:6379/11, flushed before each gateway start).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.mail.imap import ImapMailbox, watch  # noqa: E402
from gateway.mail.imap_checkpoint import load_checkpoint  # noqa: E402
from gateway.store import Store, open_store  # noqa: E402
from tests.support.dovecot import Dovecot, free_port, message  # noqa: E402

PASSWORD = "bench-pw"
PASSWORD_ENV = "FD_BENCH_IMAP_PW"
SHARED = "complaints@example.org"
SENDER = ("Margaret Hughes", "margaret.hughes@example.com")
TEAM_QUEUES = ("complaints", "enquiries", "membership")
WARM_UP = 4


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- part 1: the watcher thread alone


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


# ---------------------------------------------------------------- part 2: human complaints

SUBJECTS = (
    "Complaint about my membership renewal",
    "Charged twice for my annual subscription",
    "Formal complaint - no reply to my letters",
    "Complaint about the way my call was handled",
    "Exam certificate still not received",
    "Unhappy with the outcome of my appeal",
    "Complaint: refund promised but never paid",
    "Poor service at the regional office",
    "My direct debit was taken after I cancelled",
    "Complaint about misleading information on your website",
    "I would like to make a complaint",
    "Still waiting for a response after six weeks",
)
OPENINGS = (
    "I am writing to complain about",
    "I want to make a formal complaint about",
    "I am very disappointed with",
    "I have to raise a complaint regarding",
    "Please treat this email as a formal complaint about",
)
ISSUES = (
    "my membership renewal. On {date} I paid £{amount} by card and received a confirmation email, but my "
    "account still shows my membership as lapsed and I have been sent a reminder letter.",
    "the annual subscription. I was charged £{amount} on {date} and then again three days later, and "
    "nobody has explained why or offered to refund the second payment.",
    "the lack of any reply to my letters. I wrote on {date} and again a fortnight later about my "
    "account (reference {ref}) and have heard nothing at all.",
    "a telephone call on {date}. The adviser I spoke to was dismissive, told me it was not their "
    "department and ended the call before I could give my membership number ({ref}).",
    "my exam certificate. I passed the assessment on {date} and was told the certificate would "
    "arrive within four weeks. It has now been much longer and the helpline cannot tell me where it is.",
    "the handling of my appeal (reference {ref}). The decision letter dated {date} does not address "
    "the evidence I sent and gives no reasons I can understand.",
    "a refund of £{amount} that I was promised on {date}. I was told it would be back in my account "
    "within ten working days and it has not arrived.",
    "the service I received at your regional office on {date}. I had an appointment at 10:30 and was "
    "kept waiting for over an hour before being told to come back another day.",
    "my direct debit. I cancelled my membership in writing before {date} but you still took £{amount} "
    "from my bank account on that date.",
    "the information on your website about course fees. It said the fee was £{amount} but when I "
    "came to pay on {date} I was asked for considerably more.",
)
DETAILS = (
    "I can send copies of my bank statement and the emails I received if you need them.",
    "This has caused me a great deal of worry, as I need the membership for my job.",
    "I have spent hours on hold trying to sort this out and I am now out of pocket.",
    "My neighbour had the same problem last year, so I do not think this is a one-off.",
    "I have been a member for {years} years and have never had to complain before.",
    "I work shifts, so the best time to reach me by phone is after 4pm on weekdays.",
)
REQUESTS = (
    "Please could you look into this and let me know what you will do to put it right.",
    "I would like a full refund and an explanation of what went wrong.",
    "I would like someone to call me back to discuss this.",
    "Please confirm in writing that this has been corrected.",
    "I would like an apology and for my account to be corrected as soon as possible.",
)
STREETS = ("Station Road", "Mill Lane", "Park Avenue", "Church Street")
CLOSINGS = ("Yours sincerely", "Kind regards", "Many thanks", "Regards")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")


def complaint(tag: str, n: int) -> tuple[str, bytes]:
    """One human complaint: (Message-ID, raw bytes); the body varies with n and carries its own details."""
    rng = random.Random(f"{tag}-{n}")
    fields = {
        "date": f"{rng.randint(1, 28)} {rng.choice(MONTHS)} 2026",
        "amount": f"{rng.randint(25, 420)}.{rng.choice(('00', '50', '99', '25'))}",
        "ref": f"M{rng.randint(100000, 999999)}",
        "years": rng.randint(3, 30),
    }
    mid = f"<{tag}.{n}.{time.time_ns()}@mail.example.com>"
    mail = EmailMessage()
    mail["From"] = f"{SENDER[0]} <{SENDER[1]}>"
    mail["To"] = SHARED
    mail["Subject"] = rng.choice(SUBJECTS)
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = mid
    body = (
        f"Dear Sir or Madam,\n\n{rng.choice(OPENINGS)} {rng.choice(ISSUES).format(**fields)}\n\n"
        f"{rng.choice(DETAILS).format(**fields)} {rng.choice(REQUESTS)}\n\n"
        f"My membership number is {fields['ref']} and my postcode is "
        f"{rng.choice('BCDLMS')}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}.\n\n"
        f"{rng.choice(CLOSINGS)},\n{SENDER[0]}\n{rng.randint(1, 200)} {rng.choice(STREETS)}\n"
    )
    mail.set_content(body)
    return mid, mail.as_bytes(policy=SMTP)  # CRLF, as a mail client would APPEND it


# ---------------------------------------------------------------- part 2: the gateway as processes


class Procs:
    """Every process this benchmark started, stopped by pid in reverse order (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, **kw)  # type: ignore[call-overload]
        self.running.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.running):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.running):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.running.clear()


class Gateway:
    """One gateway in a temp working dir: relay recorder, workers, and `frontdesk imap` for one Dovecot user."""

    def __init__(self, args: argparse.Namespace, procs: Procs, dovecot: Dovecot, user: str, work: Path, *,
                 idle: bool) -> None:
        self.args, self.procs, self.work = args, procs, work
        self.relay_log = work / "relay.log"
        self.relay_port = free_port()
        work.mkdir(parents=True)
        (work / "frontdesk.toml").write_text(
            f'[[mailbox]]\naddress = "{SHARED}"\nchannel = "email"\nqueue = "complaints"\n\n'
            f'[[imap]]\nhost = "127.0.0.1"\nport = {dovecot.port}\ntls = "none"\nusername = "{user}"\n'
            f'password_env = "{PASSWORD_ENV}"\naddress = "{SHARED}"\nidle = {str(idle).lower()}\n'
            f"poll_seconds = {args.poll_seconds:g}\n\n"
            "[hygiene]\nacknowledgements_per_sender_per_day = 1000000\n"
        )
        self.env = {
            **os.environ,
            "FRONTDESK_DATA_DIR": str(work / "var"),
            "FRONTDESK_RELAY": f"smtp://127.0.0.1:{self.relay_port}",
            "REDIS_URL": args.redis_url,
            "FRONTDESK_LOG_LEVEL": "WARNING",
            PASSWORD_ENV: PASSWORD,
        }
        self.env.pop("DATABASE_URL", None)
        self.database_url = f"sqlite:///{work / 'var' / 'frontdesk.db'}"
        self.cli = [sys.executable, "-m", "gateway.cli"]
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        subprocess.run([*self.cli, "migrate"], cwd=work, env=self.env, check=True, capture_output=True)
        self.log = (work / "gateway.log").open("wb")

    def _run(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return self.procs.start(argv, cwd=self.work, env={**self.env, "PYTHONPATH": str(ROOT)},
                                stdout=self.log, stderr=subprocess.STDOUT)

    def start_relay_and_workers(self) -> None:
        relay = self.procs.start([sys.executable, str(ROOT / "bench" / "sinks.py"), "record", str(self.relay_port),
                                  str(self.relay_log)], stdout=subprocess.PIPE)
        assert relay.stdout is not None
        relay.stdout.readline()
        nice = ["nice", "-n", "10"]
        for _ in range(2):
            self._run([*nice, *self.cli, "worker", "--no-supervise", "intake"])
        self._run([*nice, *self.cli, "worker", "--no-supervise", *TEAM_QUEUES])
        self._wait_workers(3)

    def _wait_workers(self, count: int, timeout: float = 60) -> None:
        import redis
        from rq import Worker

        conn = redis.Redis.from_url(self.args.redis_url)
        deadline = time.monotonic() + timeout
        while Worker.count(connection=conn) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not register within {timeout} s; see {self.work / 'gateway.log'}")
            time.sleep(0.05)

    def start_imap(self) -> None:
        self._run([*self.cli, "imap"])

    def acks(self) -> dict[str, float]:
        """In-Reply-To (the appended message's Message-ID) -> arrival time of its acknowledgement at the relay."""
        found: dict[str, float] = {}
        if not self.relay_log.exists():
            return found
        for line in self.relay_log.read_text().splitlines():
            parts = line.split(" ")
            if len(parts) >= 4 and parts[1].startswith("<ack.") and parts[3] != "-":
                found.setdefault(parts[3], float(parts[0]))
        return found

    def wait_acks(self, wanted: set[str], timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            acks = self.acks()
            if wanted <= acks.keys() or time.monotonic() > deadline:
                return {mid: at for mid, at in acks.items() if mid in wanted}
            time.sleep(0.1)

    def stored(self) -> dict[str, float]:
        """Message-ID -> when the watcher stored it (received_at, stamped just before the commit)."""
        from sqlalchemy import select

        from gateway.store import RawMessage

        store = open_store(self.database_url, migrate=False)
        try:
            with store.session() as session:
                rows = session.execute(select(RawMessage.message_id, RawMessage.received_at)).all()
        finally:
            store.engine.dispose()
        return {mid: (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() for mid, at in rows if mid}

    def not_acknowledged(self) -> list[str]:
        """Why cases were opened without an acknowledgement (for the report, when some are missing)."""
        from sqlalchemy import select

        from gateway.store import Case

        store = open_store(self.database_url, migrate=False)
        try:
            with store.session() as session:
                return [str(r) for r in session.scalars(select(Case.no_ack_reasons).where(Case.acknowledge.is_(False)))]
        finally:
            store.engine.dispose()

    def close(self) -> None:
        self.procs.stop_all()
        self.log.close()


def append_paced(dovecot: Dovecot, user: str, tag: str, n: int, rate: float) -> dict[str, tuple[float, float]]:
    """APPEND n complaints one at a time, one every 1/rate s; Message-ID -> (APPEND sent, APPEND answered OK)."""
    sent: dict[str, tuple[float, float]] = {}
    with dovecot.client(user) as imap:
        mails = [complaint(tag, i) for i in range(n)]
        t0 = time.monotonic()
        for i, (mid, raw) in enumerate(mails):
            pause = t0 + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            started = time.time()
            imap.append("INBOX", raw)
            sent[mid] = (started, time.time())
    return sent


def gateway_latency(args: argparse.Namespace, procs: Procs, dovecot: Dovecot, user: str, work: Path, *,
                    idle: bool) -> dict[str, float]:
    gw = Gateway(args, procs, dovecot, user, work, idle=idle)
    try:
        gw.start_relay_and_workers()
        gw.start_imap()
        warm = append_paced(dovecot, user, f"warm-{user}", WARM_UP, args.rate)
        got = gw.wait_acks(set(warm), 120)
        if len(got) < len(warm):
            raise SystemExit(f"{user}: warm-up acknowledged {len(got)}/{len(warm)}; see {work}/gateway.log")
        sent = append_paced(dovecot, user, user, args.messages, args.rate)
        acks = gw.wait_acks(set(sent), args.timeout)
        stored = gw.stored()
        to_ack = [acks[mid] - sent[mid][0] for mid in sent if mid in acks]
        to_store = [stored[mid] - sent[mid][0] for mid in sent if mid in stored]
        append_rtt = [done - started for started, done in sent.values()]
        if len(acks) < len(sent):
            print(f"  {user}: {len(sent) - len(acks)} not acknowledged; reasons: {gw.not_acknowledged()[:3]}")
        return {
            "ack_p50": percentile(to_ack, 50), "ack_p99": percentile(to_ack, 99), "ack_max": max(to_ack, default=0),
            "stored_p50": percentile(to_store, 50), "stored_p99": percentile(to_store, 99),
            "append_p50": percentile(append_rtt, 50), "acked": len(acks), "stored": len(to_store),
        }
    finally:
        gw.close()


def gateway_backlog(args: argparse.Namespace, procs: Procs, dovecot: Dovecot, user: str, work: Path) -> dict[str, float]:
    mails = [complaint(user, i) for i in range(args.backlog)]
    with dovecot.client(user) as imap:  # no gateway running yet
        for start in range(0, len(mails), 100):
            imap.multiappend("INBOX", [raw for _mid, raw in mails[start:start + 100]])
    wanted = {mid for mid, _raw in mails}
    gw = Gateway(args, procs, dovecot, user, work, idle=True)
    try:
        gw.start_relay_and_workers()  # registered with Redis before the clock starts
        launched = time.time()
        gw.start_imap()
        acks = gw.wait_acks(wanted, args.timeout)
        stored = sorted(at for mid, at in gw.stored().items() if mid in wanted)
        acked = sorted(acks.values())
        n = len(wanted)

        def rates(times: list[float]) -> tuple[float, float]:
            """(count / seconds from launching `frontdesk imap` to the last one, steady rate from first to last)."""
            if len(times) < 2:
                return float("nan"), float("nan")
            return len(times) / (times[-1] - launched), (len(times) - 1) / (times[-1] - times[0])

        store_all, store_steady = rates(stored)
        ack_all, ack_steady = rates(acked)
        return {
            "store_rate": store_all, "store_steady": store_steady, "ack_rate": ack_all, "ack_steady": ack_steady,
            "first_ack": (acked[0] - launched) if acked else float("nan"),
            "stored": len(stored), "acked": len(acked), "n": n,
        }
    finally:
        gw.close()


# ---------------------------------------------------------------- main


def median_of(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3, help="runs of every part; each figure is the median")
    parser.add_argument("--rate", type=float, default=10.0, help="APPENDs per second in the gateway latency runs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for every acknowledgement")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--skip-in-process", action="store_true", help="only the gateway-as-processes parts")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops everything on timeout/kill
    os.environ[PASSWORD_ENV] = PASSWORD
    users = {f"{part}{run}": PASSWORD for part in ("idle", "poll", "backlog", "gwidle", "gwpoll", "gwbacklog")
             for run in range(args.runs)}
    dovecot = Dovecot(users)
    tmp = tempfile.TemporaryDirectory(prefix="frontdesk-bench-")
    procs = Procs()
    print(f"command: {' '.join([sys.executable, *sys.argv])}", flush=True)
    print(f"runs: {args.runs} (every figure is the median over the runs); CPUs: {os.cpu_count()}", flush=True)
    try:
        dovecot.start()
        in_process: dict[str, list[float]] = {}
        gateway: dict[str, list[dict[str, float]]] = {"IDLE": [], "polling": [], "backlog": []}
        for run in range(args.runs):
            if not args.skip_in_process:
                store = open_store(f"sqlite:///{tmp.name}/bench{run}.db")

                def box(user: str, **kw: object) -> ImapMailbox:
                    return ImapMailbox(host="127.0.0.1", port=dovecot.port, tls="none", username=user,
                                       password_env=PASSWORD_ENV, address=f"{user}@example.org", **kw)  # type: ignore[arg-type]

                for name, cfg in (("IDLE", box(f"idle{run}", poll_seconds=600)),
                                  ("polling", box(f"poll{run}", idle=False, poll_seconds=args.poll_seconds))):
                    values = latency(dovecot, cfg.username, cfg, store, args.messages)
                    for key, value in ((f"{name} p50", percentile(values, 50)), (f"{name} p99", percentile(values, 99)),
                                       (f"{name} mean", statistics.mean(values))):
                        in_process.setdefault(key, []).append(value)
                rate = backlog(dovecot, f"backlog{run}", box(f"backlog{run}", poll_seconds=600), store, args.backlog)
                in_process.setdefault("backlog", []).append(rate)
                store.engine.dispose()
                print(f"run {run + 1}: in-process IDLE p50 {in_process['IDLE p50'][-1] * 1000:.0f} ms, polling p50 "
                      f"{in_process['polling p50'][-1] * 1000:.0f} ms, backlog {rate:.0f}/s", flush=True)
            for name, idle in (("IDLE", True), ("polling", False)):
                user = f"gw{'idle' if idle else 'poll'}{run}"
                result = gateway_latency(args, procs, dovecot, user, Path(tmp.name) / user, idle=idle)
                gateway[name].append(result)
                print(f"run {run + 1}: gateway {name}: APPEND -> ack p50 {result['ack_p50'] * 1000:.0f} ms, "
                      f"p99 {result['ack_p99'] * 1000:.0f} ms, max {result['ack_max'] * 1000:.0f} ms; "
                      f"APPEND -> stored p50 {result['stored_p50'] * 1000:.0f} ms; "
                      f"acknowledged {result['acked']}/{args.messages}", flush=True)
            user = f"gwbacklog{run}"
            result = gateway_backlog(args, procs, dovecot, user, Path(tmp.name) / user)
            gateway["backlog"].append(result)
            print(f"run {run + 1}: gateway backlog of {args.backlog}: stored {result['store_rate']:.0f}/s "
                  f"(steady {result['store_steady']:.0f}/s), acknowledged {result['ack_rate']:.1f}/s "
                  f"(steady {result['ack_steady']:.1f}/s), acknowledged {result['acked']}/{result['n']}", flush=True)

        print()
        print(f"command: {' '.join([sys.executable, *sys.argv])}")
        print(f"medians of {args.runs} run(s); Dovecot 2.3 (mail_fsync=always); store SQLite (WAL, synchronous=FULL)")
        if in_process:
            print(f"\nin-process watcher thread ({args.messages} x 4 KB synthetic messages, one at a time, waiting for each):")
            for name in ("IDLE", f"polling every {args.poll_seconds:g} s"):
                key = name.split()[0]
                print(f"  APPEND -> stored, {name}: p50 {statistics.median(in_process[f'{key} p50']) * 1000:.0f} ms, "
                      f"p99 {statistics.median(in_process[f'{key} p99']) * 1000:.0f} ms, "
                      f"mean {statistics.median(in_process[f'{key} mean']) * 1000:.0f} ms")
            print(f"  backlog of {args.backlog}: drained at {statistics.median(in_process['backlog']):.0f} messages/s "
                  "(stored, moved, checkpointed)")
        print(f"\ngateway as processes: frontdesk imap + 2 intake workers + 1 team worker ({' '.join(TEAM_QUEUES)}), "
              "workers nice 10, Redis, recording relay")
        print(f"  {args.messages} human complaints (~1 KB, one sender, distinct bodies and Message-IDs) APPENDed one "
              f"at a time at {args.rate:g}/s, after {WARM_UP} uncounted warm-up messages; latency from APPEND sent")
        for name, label in (("IDLE", "IDLE"), ("polling", f"polling every {args.poll_seconds:g} s")):
            rs = gateway[name]
            print(f"  {label}: APPEND -> acknowledgement at relay p50 {median_of(rs, 'ack_p50') * 1000:.0f} ms, "
                  f"p99 {median_of(rs, 'ack_p99') * 1000:.0f} ms (max {median_of(rs, 'ack_max') * 1000:.0f} ms); "
                  f"APPEND -> stored p50 {median_of(rs, 'stored_p50') * 1000:.0f} ms, "
                  f"p99 {median_of(rs, 'stored_p99') * 1000:.0f} ms; APPEND round trip p50 "
                  f"{median_of(rs, 'append_p50') * 1000:.1f} ms; acknowledged {[int(r['acked']) for r in rs]} of {args.messages}")
        rs = gateway["backlog"]
        print(f"  backlog of {args.backlog} (APPENDed with the gateway stopped, then `frontdesk imap` started, "
              "workers already up; rates from its launch to the last one, and first-to-last):")
        print(f"    storing: {median_of(rs, 'store_rate'):.0f} messages/s (first to last {median_of(rs, 'store_steady'):.0f}/s)")
        print(f"    acknowledgements at relay: {median_of(rs, 'ack_rate'):.1f} messages/s "
              f"(first to last {median_of(rs, 'ack_steady'):.1f}/s; first after {median_of(rs, 'first_ack'):.1f} s); "
              f"acknowledged {[int(r['acked']) for r in rs]} of {args.backlog}")
    finally:
        procs.stop_all()
        dovecot.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
