"""`frontdesk policy check` and `frontdesk policy explain`: the policy engine from a
terminal.

`register(subparsers)` adds the `policy` command to the gateway's argparse parser; each
action stores a `func(args) -> int` that returns the exit status (0 fine, 1 errors
found, 2 bad input), so the caller decides when to exit.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.config import ConfigError, load_config
from gateway.policy.calendar import NATION_NAMES, NATIONS, describe_hours, local
from gateway.policy.check import check_config
from gateway.policy.deadlines import counting_terms, when_text
from gateway.policy.presets import CHANNELS, PolicyError, compute_deadlines, policy_from_config


def register(subparsers: Any) -> None:
    """Add `policy check` and `policy explain` to the gateway's command line.

    `--config` is taken from the main parser; it may also follow `policy` (the default is
    suppressed so that it never hides a value given before the subcommand).
    """
    policy = subparsers.add_parser("policy", help="check the policy or explain a deadline")
    policy.add_argument("--config", default=argparse.SUPPRESS, help="path to frontdesk.toml")
    actions = policy.add_subparsers(dest="policy_action", required=True)

    check = actions.add_parser("check", help="validate the policy settings and queues")
    check.set_defaults(func=run_check)

    explain = actions.add_parser("explain", help="print a message's due dates and why")
    explain.add_argument("--channel", required=True, choices=CHANNELS)
    explain.add_argument(
        "--received",
        required=True,
        type=_parse_received,
        help='ISO 8601 time, e.g. "2026-11-27T16:45" (Europe/London if no offset)',
    )
    explain.add_argument("--topic", help="e.g. complaint, data_protection")
    explain.add_argument("--stage", type=int, help="complaint stage: 1, 2, 3")
    explain.add_argument("--nation", choices=tuple(NATIONS))
    explain.add_argument("--preset", help="a preset name, instead of the config's")
    explain.add_argument("--json", action="store_true", help="print a JSON object")
    explain.set_defaults(func=run_explain)


def _parse_received(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time: write it like 2026-11-27T16:45") from exc


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Sequence[str]]]:
    """The [organisation] and [policy] tables and the queues, read as the gateway reads them.

    The gateway's own loader fills in its defaults, so `explain` shows what `run` would do.
    A queue's lead counts as a handler: the lead is named when nobody else is available.
    """
    config = load_config(getattr(args, "config", None))
    tables: dict[str, Any] = {"organisation": dict(config.organisation), "policy": dict(config.policy)}
    queues: dict[str, Sequence[str]] = {
        name: [h.name for h in (*team.handlers, team.lead) if h] for name, team in config.teams.items()
    }
    return tables, queues


def run_check(args: argparse.Namespace) -> int:
    """Print every problem; exit status 1 when any is an error."""
    try:
        tables, queues = _settings(args)
    except ConfigError as exc:
        print(f"error: configuration: {exc}", file=sys.stderr)
        return 1
    return report(check_config(tables, queues))


def report(problems: Sequence[Any]) -> int:
    """Print problems (errors to stderr) and say what the exit status means."""
    for problem in problems:
        print(problem, file=sys.stderr if problem.level == "error" else sys.stdout)
    errors = sum(p.level == "error" for p in problems)
    if errors:
        print(f"{errors} error(s): fix them before starting the gateway.", file=sys.stderr)
        return 1
    print("Policy OK" + (f" ({len(problems)} warning(s))." if problems else "."))
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """Print the due dates of one imagined message under the configured policy."""
    try:
        tables, _ = _settings(args)
        if args.preset:
            tables["policy"]["preset"] = args.preset
        if args.nation:
            tables["organisation"]["nation"] = args.nation
            tables["policy"].pop("nation", None)
        policy, cal = policy_from_config(tables)
        deadlines = compute_deadlines(policy, cal, args.channel, args.topic, args.stage, args.received)
    except (ConfigError, PolicyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    received = local(cal, args.received)
    if args.json:
        print(
            json.dumps(
                {
                    "preset": policy.name,
                    "nation": NATION_NAMES[cal.nation],
                    "channel": args.channel,
                    "topic": args.topic,
                    "stage": args.stage,
                    "received": received.isoformat(),
                    "acknowledge_by": deadlines.acknowledge_by.isoformat(),
                    "reply_by": deadlines.reply_by.isoformat(),
                    "update_by": deadlines.update_by.isoformat() if deadlines.update_by else None,
                    "acknowledge_days": deadlines.acknowledge_days,
                    "reply_days": deadlines.reply_days,
                    "reply_hours": deadlines.reply_hours,
                    "reply_months": deadlines.reply_months,
                    "update_every_days": deadlines.update_every_days,
                    "count_receipt_day": policy.count_receipt_day,
                    "named_role": deadlines.named_role,
                    "terms": deadlines.terms,
                    "reasons": deadlines.reasons,
                },
                indent=2,
            )
        )
        return 0
    print(f"Preset:         {policy.name} ({policy.title})")
    print(f"Working days:   {describe_hours(cal)}")
    print(f"Counting:       {counting_terms(policy)}")
    print(f"Received:       {when_text(received)}")
    print(f"Acknowledge by: {when_text(deadlines.acknowledge_by)}")
    print(f"Reply by:       {when_text(deadlines.reply_by)}")
    if deadlines.update_by is not None:
        print(f"First update:   {when_text(deadlines.update_by)}")
    print(f"Named:          {deadlines.named_role}")
    print("Why:")
    for reason in deadlines.reasons:
        print(f"  - {reason}")
    print(f"Terms quoted:   {deadlines.terms}")
    return 0
