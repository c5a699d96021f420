"""``frontdesk classify eval DIR`` and ``frontdesk classify explain FILE.eml...``.

``explain`` must give every file its line, even one that cannot be read or parsed: the defect is
put among the reasons, because an admin checking rules on odd mail needs an answer, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gateway.classify.decide import Classification, RuleSet, classify, load_rules
from gateway.mail.parse import parse


def register(subparsers: Any) -> None:
    """Add the ``classify`` subcommand (with ``eval`` and ``explain``) to a CLI."""
    parser = subparsers.add_parser("classify", help="topic classification: evaluate or explain")
    inner = parser.add_subparsers(dest="classify_command", required=True)
    ev = inner.add_parser("eval", help="precision, recall and misses on a labelled folder")
    ev.add_argument("folder", type=Path, help="folder of <topic>/*.eml with optional labels.toml")
    ev.add_argument("--rules", type=Path, default=None, help="rule folder (default: queue/rules)")
    ev.set_defaults(func=run_eval)
    ex = inner.add_parser("explain", help="the decision and its reasons for each file")
    ex.add_argument("files", nargs="+", type=Path)
    ex.add_argument("--json", action="store_true", help="one JSON object per line")
    ex.add_argument("--channel", default="email", choices=["email", "webform", "post", "voicemail", "social"])
    ex.add_argument("--form", action="append", default=[], metavar="KEY=VALUE", help="a web-form answer")
    ex.add_argument("--rules", type=Path, default=None, help="rule folder (default: queue/rules)")
    ex.set_defaults(func=run_explain)


def rules_or_error(folder: Path | None) -> RuleSet | None:
    """The rules, or None after one line on stderr saying what is wrong with them (the caller exits 2)."""
    try:
        return load_rules(folder)
    except (ValueError, OSError) as exc:
        print(f"frontdesk: topic rules error: {exc}", file=sys.stderr)
        return None


def run_eval(args: argparse.Namespace) -> int:
    from gateway.classify.evaluate import evaluate, format_report

    rules = rules_or_error(args.rules)
    if rules is None:
        return 2
    # one line, first: figures of the rules alone must not pass for figures of the product's decision
    print(f"topic model: {rules.model.made_by}" if rules.model else "warning: topic model off ([decision.model]): rules only")
    print(format_report(evaluate(args.folder, rules)))
    return 0


def explain_one(path: Path, rules: RuleSet, channel: str, form: dict[str, str]) -> dict[str, Any]:
    """The decision for one file as a plain mapping; a failure becomes a reason, never an exception."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        got = Classification("general_enquiry", [], [f"cannot read file: {exc.strerror or exc}"], False)
    else:
        try:
            got = classify(parse(raw), channel=channel, form=form, rules=rules)
        except Exception as exc:  # a bug in a rule must not hide the other files' answers
            got = Classification("general_enquiry", [], [f"classification failed: {type(exc).__name__}: {exc}"], True)
    return {"file": str(path), "topic": got.topic, "secondary": got.secondary,
            "acknowledge": got.acknowledge, "reasons": got.reasons}


def run_explain(args: argparse.Namespace) -> int:
    rules = rules_or_error(args.rules)
    if rules is None:
        return 2
    form = dict(item.split("=", 1) for item in args.form if "=" in item)
    for path in args.files:
        row = explain_one(path, rules, args.channel, form)
        if args.json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
            continue
        extra = f" + {', '.join(row['secondary'])}" if row["secondary"] else ""
        ack = "acknowledge" if row["acknowledge"] else "no acknowledgement"
        print(f"{row['file']}: {row['topic']}{extra} ({ack})")
        for reason in row["reasons"]:
            print(f"    {reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point until gateway/cli.py wires ``register``."""
    parser = argparse.ArgumentParser(prog="frontdesk")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
