"""The `frontdesk` command. Each part runs alone for many machines, or all together with `run`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from gateway.config import ConfigError, load_config

log = logging.getLogger("frontdesk")

TEAM_QUEUES_NOTE = "queues: intake, and the team queues in queue/queues.toml (e.g. complaints, safeguarding)"


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("rq.worker", "rq.queue", "mail.log", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="Email and web-form intake gateway: stores, classifies, acknowledges and routes every message.",
    )
    parser.add_argument("--config", help="path to frontdesk.toml (default: ./frontdesk.toml if present)")
    parser.add_argument("--log-level", default=os.environ.get("FRONTDESK_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="everything on one machine: SMTP, web, IMAP watchers, workers, sweeper")
    sub.add_parser("smtp", help="the SMTP listener alone")
    web = sub.add_parser("web", help="the web app alone, under gunicorn")
    web.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    worker = sub.add_parser("worker", help="a supervised RQ worker for the given queues, in priority order")
    worker.add_argument("queues", nargs="+", help=TEAM_QUEUES_NOTE)
    worker.add_argument(
        "--no-supervise", action="store_true", help="run the worker in this process, with no supervisor to restart it"
    )
    sweep = sub.add_parser("sweep", help="the sweeper alone: re-enqueues work Redis lost")
    sweep.add_argument("--once", action="store_true", help="one pass, then exit")
    sub.add_parser("migrate", help="bring the store's schema up to date (every command also does this)")
    for register in _area_commands():
        register(sub)
    return parser


def _area_commands() -> list:  # type: ignore[type-arg]
    """Subcommands that belong to an area live with it (policy, classify, imap)."""
    found = []
    for module in ("gateway.policy.cli", "gateway.classify.cli", "gateway.mail.imap_cli", "gateway.notices_cli"):
        try:
            found.append(__import__(module, fromlist=["register"]).register)
        except ImportError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    if hasattr(args, "func"):
        return int(args.func(args) or 0)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"frontdesk: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command in ("run", "web", "worker"):  # the commands that classify: a broken rule or model says so now
        from gateway.classify import load_rules

        try:
            load_rules()
        except (ValueError, OSError) as exc:
            print(f"frontdesk: topic rules error: {exc}", file=sys.stderr)
            return 2
    from gateway import runner

    if args.command == "run":
        return runner.run_all(config)
    if args.command == "smtp":
        return runner.run_smtp(config)
    if args.command == "web":
        return runner.run_web(config, workers=args.workers)
    if args.command == "worker" and args.no_supervise:
        return runner.run_worker(config, args.queues)
    if args.command == "worker":
        from gateway.supervisor import supervise_process

        extra = ["--config", args.config] if args.config else []
        return supervise_process(["-m", "gateway.cli", *extra, "worker", "--no-supervise", *args.queues])
    if args.command == "sweep":
        return runner.run_sweep(config, once=args.once)
    if args.command == "migrate":
        from gateway.store import open_store

        open_store(config.database_url)
        print("store schema is up to date")
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def wait_for_signal() -> threading.Event:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop



if __name__ == "__main__":
    sys.exit(main())
