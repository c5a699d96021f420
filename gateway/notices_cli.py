"""`frontdesk case ...`: the staff actions that send notices, from a terminal (no staff pages yet).

    frontdesk case forward REF --to NAME --contact TEXT --reason TEXT --by NAME
    frontdesk case extend REF --until YYYY-MM-DD --reason TEXT --by NAME
    frontdesk case escalate REF --reason TEXT --by NAME
    frontdesk case update REF --message TEXT --by NAME
    frontdesk case show REF
    frontdesk case send-pending

Each action stores `func(args) -> int`: 0 done, 1 recorded but the mail is not out yet (relay
down, template broken), 2 bad input with the reason on stderr. `--key` makes a repeated command
(a retry after a timeout) a no-op that reports the first notice.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from gateway.config import ConfigError, load_config
from gateway.notices import NoticeError, NoticeResult
from gateway.services import Services
from gateway.templating import RenderError

Action = Callable[[Services, argparse.Namespace], int]


def register(subparsers: Any) -> None:
    """Add `case` and its actions to the gateway's command line."""
    case = subparsers.add_parser("case", help="staff actions on a case: forward, extend, escalate, update, show")
    case.add_argument("--config", default=argparse.SUPPRESS, help="path to frontdesk.toml")
    actions = case.add_subparsers(dest="case_action", required=True, metavar="ACTION")

    def action(name: str, help_text: str, run: Action, *, reason: bool = True) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("reference", metavar="REF", help="the case reference, e.g. CS-2026-000123")
        if reason:
            parser.add_argument("--reason", required=True, help="why, in a sentence the requester will read")
        parser.set_defaults(func=lambda args: _run(args, run))
        return parser

    forward = action("forward", "record that the case was passed on, and tell the requester who to contact", _forward)
    forward.add_argument("--to", required=True, help="the department or organisation it was passed to")
    forward.add_argument("--contact", required=True, help="their contact details, as the requester should use them")
    extend = action("extend", "agree a new reply date for a complex case, and tell the requester", _extend)
    extend.add_argument("--until", required=True, type=_day, help="the new reply date, YYYY-MM-DD (a working day)")
    action("escalate", "move a complaint to its next stage (senior manager, then director)", _escalate)
    update = action("update", "send the requester a progress update", _update, reason=False)
    update.add_argument("--message", required=True, help="the update, as the requester will read it")
    for parser in (forward, extend, actions.choices["escalate"], update):
        parser.add_argument("--by", required=True, help="who is doing this (recorded on the case)")
        parser.add_argument("--key", help="an idempotency key: the same key again sends nothing new")
    action("show", "print a case's facts, deadlines and history (never the message itself)", _show, reason=False)
    pending = actions.add_parser("send-pending", help="send notices the relay could not take earlier")
    pending.set_defaults(func=lambda args: _run(args, _send_pending))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-02") from exc


def _run(args: argparse.Namespace, run: Action) -> int:
    """Open the store, run one action, and turn known failures into a message and an exit status."""
    import redis

    from gateway.services import services_from_config

    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"frontdesk: configuration error: {exc}", file=sys.stderr)
        return 2
    # notices never touch Redis: a lazy client that is never used keeps the command working without one
    services = services_from_config(config, redis_client=redis.Redis.from_url(config.redis_url))
    try:
        return run(services, args)
    except NoticeError as exc:
        print(f"frontdesk: {exc}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"frontdesk: nothing was recorded: a notice template failed: {exc}", file=sys.stderr)
        return 1
    finally:
        services.store.engine.dispose()


def _report(result: NoticeResult) -> int:
    """Say what was recorded and where the notice went; exit 1 when it is still waiting to be sent."""
    again = " (already done with this --key: nothing new recorded)" if result.repeated else ""
    print(f"{result.summary}{again}")
    if result.state == "sent":
        print(f"{result.kind} notice sent to {result.recipient}")
    elif result.state == "not_sent":
        print(f"{result.kind} notice recorded, not sent: {result.detail.get('not_sent', 'nobody to send it to')}")
    else:
        print(f"{result.kind} notice recorded, not sent yet: {result.error or result.state}", file=sys.stderr)
        return 1
    return 0


def _forward(services: Services, args: argparse.Namespace) -> int:
    from gateway.notices import forward

    return _report(
        forward(services, args.reference, to=args.to, contact=args.contact, reason=args.reason, by=args.by, key=args.key)
    )


def _extend(services: Services, args: argparse.Namespace) -> int:
    from gateway.notices import extend

    return _report(extend(services, args.reference, until=args.until, reason=args.reason, by=args.by, key=args.key))


def _escalate(services: Services, args: argparse.Namespace) -> int:
    from gateway.notices import escalate

    return _report(escalate(services, args.reference, reason=args.reason, by=args.by, key=args.key))


def _update(services: Services, args: argparse.Namespace) -> int:
    from gateway.notices import progress_update

    return _report(progress_update(services, args.reference, message=args.message, by=args.by, key=args.key))


def _send_pending(services: Services, args: argparse.Namespace) -> int:
    from gateway.notices import send_pending

    print(f"{send_pending(services)} notice(s) sent")
    return 0


def _show(services: Services, args: argparse.Namespace) -> int:
    """Facts, deadlines and the history of a case; never the message body, which stays in the store."""
    for line in case_lines(services, args.reference.strip().upper()):
        print(line)
    return 0


def case_lines(services: Services, reference: str) -> list[str]:
    """The lines `case show` prints: what a handler needs at a glance, and the audit trail."""
    from sqlalchemy import select

    from gateway.acknowledge import one_line
    from gateway.policy.calendar import local, working_days_between
    from gateway.store import Case, CaseEvent

    _, calendar = services.policy
    with services.store.session() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        if case is None:
            raise NoticeError(f"no case with reference {reference!r}")
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    team = services.config.teams.get(case.queue)
    now = datetime.now(UTC)

    def due(value: datetime | None) -> str:
        if value is None:
            return "-"
        when = local(calendar, value)
        left = working_days_between(calendar, now, when)
        days = "due today" if left == 0 else (f"in {left} working day(s)" if left > 0 else f"overdue by {-left} working day(s)")
        return f"{when:%a %d %b %Y %H:%M} ({days})"

    restricted = " (restricted queue: its team only)" if team is not None and team.restricted else ""
    requester = f"{one_line(case.requester_name, 100)} <{case.requester_email}>" if case.requester_email else "anonymous"
    lines = [
        f"Case {case.reference}: {case.status}, stage {case.stage}, topic {case.topic}, queue {case.queue}{restricted}",
        f"Received {case.channel} on {_utc(case.created_at):%Y-%m-%d %H:%M} UTC; subject: {one_line(case.subject, 120)}",
        f"Requester: {requester}",
        f"Handler: {case.handler_name}, {case.handler_role}",
        f"Acknowledge by: {due(case.acknowledge_by)}",
        f"Reply by: {due(case.reply_by)}",
        f"Next progress update by: {due(case.update_due)}",
        "History:",
    ]
    for event in events:
        facts = ", ".join(f"{k}={one_line(str(v), 120)}" for k, v in event.detail.items() if k not in _HIDDEN and _shown(v))
        lines.append(f"  {_utc(event.at):%Y-%m-%d %H:%M} UTC {event.kind}" + (f": {facts}" if facts else ""))
    return lines


# the progress update's own text and long lists (classification reasons) stay in the store
_HIDDEN = ("message", "reasons", "deadlines", "summary")


def _shown(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _utc(value: datetime) -> datetime:
    """Stored times: naive ones (SQLite) were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
