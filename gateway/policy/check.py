"""`policy check`: everything wrong with the policy settings, found before the gateway runs.

The config arrives as a plain mapping (the parsed `[organisation]` and `[policy]` tables) and
the queues as a plain dict, so these functions read no files and tests pass dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.policy.calendar import WEEKDAYS, nation_code, parse_closures, parse_opening_hours
from gateway.policy.presets import CHANNELS, Policy, PolicyError, config_setting, load_policy, parse_rule

POLICY_KEYS = ("preset", "overrides", "nation", "closures", "opening_hours")


@dataclass(frozen=True)
class Problem:
    """One finding of `policy check`: an error stops the gateway, a warning does not."""

    level: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def _combinations(policy: Policy) -> list[tuple[str, str | None, int | None]]:
    """Every (channel, topic, stage) the rules tell apart: each target checked once."""
    topics = {None, *(r.topic for r in policy.rules)}
    stages = {None, *(r.stage for r in policy.rules)}
    return [
        (channel, topic, stage) for channel in CHANNELS for topic in sorted(topics, key=str) for stage in sorted(stages, key=str)
    ]


def _target_problems(policy: Policy) -> list[Problem]:
    """Targets that contradict themselves or the law."""
    problems = []
    for channel, topic, stage in _combinations(policy):
        target = policy.target(channel, topic, stage)
        where = f"channel {channel}" + (f", topic {topic}" if topic else "") + (f", stage {stage}" if stage else "")
        if target.reply_days is not None and target.reply_days < target.acknowledge_days:
            problems.append(
                Problem(
                    "error",
                    where,
                    f"the reply target ({target.reply_days} working days) comes "
                    f"before the acknowledgement target ({target.acknowledge_days}): "
                    "it cannot be met",
                )
            )
        if topic == "data_protection" and (target.reply_months or 0) > 1:
            problems.append(
                Problem(
                    "error",
                    where,
                    "a subject access request must be answered within one calendar "
                    "month (UK GDPR): reply_months cannot be more than 1",
                )
            )
        elif topic == "data_protection" and target.reply_months is None:
            problems.append(
                Problem(
                    "warning",
                    where,
                    "subject access requests have a statutory limit of one calendar month: use reply_months = 1",
                )
            )
    return problems


def _calendar_problems(config: Mapping[str, Any], policy: Policy | None) -> list[Problem]:
    """Check nation, hours and closures one by one: every mistake reported at once."""
    problems = []
    nation = config_setting(config, "nation")
    if nation is not None:
        try:
            nation_code(str(nation))
        except ValueError as exc:
            problems.append(Problem("error", "organisation.nation", str(exc)))
    hours = config_setting(config, "opening_hours")
    if hours is None and policy is not None:
        hours = dict(policy.opening_hours) or None
    if hours is not None:
        try:
            parsed = parse_opening_hours(hours)
            if all(h is None for h in parsed):
                problems.append(
                    Problem(
                        "error",
                        "organisation.opening_hours",
                        f"no weekday has opening hours, so no deadline can be met (set at least one of {', '.join(WEEKDAYS)})",
                    )
                )
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(Problem("error", "organisation.opening_hours", str(exc)))
    closures = config_setting(config, "closures") or []
    try:
        days = parse_closures([closures] if isinstance(closures, str) else closures)
        longest = _longest_run(days)
        if longest > 31:
            problems.append(
                Problem(
                    "warning",
                    "organisation.closures",
                    f"{longest} closure days in a row: every deadline in that span is pushed past it",
                )
            )
    except (ValueError, TypeError) as exc:
        problems.append(Problem("error", "organisation.closures", str(exc)))
    return problems


def _override_problems(overrides: Any) -> list[Problem]:
    """Check each override on its own, so three mistakes give three messages."""
    if not isinstance(overrides, Mapping):
        return [Problem("error", "policy.overrides", "must be a table")]
    problems = []
    if not isinstance(overrides.get("count_receipt_day", False), bool):
        problems.append(Problem("error", "policy.overrides.count_receipt_day", "must be true or false"))
    top = {k: v for k, v in overrides.items() if k not in ("rule", "count_receipt_day")}
    items = overrides.get("rule", [])
    if not isinstance(items, list):
        items = [items]
    tables = [(top, "policy.overrides")] if top else []
    tables += [(item, f"policy.overrides.rule {n}") for n, item in enumerate(items, start=1)]
    for table, where in tables:
        try:
            if not isinstance(table, Mapping):
                raise PolicyError(f"{where}: must be a table")
            parse_rule(table, where, layer=1)
        except PolicyError as exc:
            where_, _, message = str(exc).partition(": ")
            problems.append(Problem("error", where_, message))
    return problems


def _longest_run(days: frozenset[date]) -> int:
    longest = 0
    for day in days:
        if day - timedelta(1) not in days:
            run = 1
            while day + timedelta(run) in days:
                run += 1
            longest = max(longest, run)
    return longest


def check_config(
    config: Mapping[str, Any],
    queues: Mapping[str, Sequence[str]] | None = None,
    *,
    directory: Path | None = None,
) -> list[Problem]:
    """Everything wrong with the policy settings, errors first; empty when all is well.

    `queues` maps each queue's name to its handlers (people or addresses): a queue
    nobody works would leave its messages unanswered whatever the policy promises.
    """
    problems: list[Problem] = []
    section = config.get("policy", {})
    if isinstance(section, Mapping):
        for key in section:
            if key not in POLICY_KEYS:
                problems.append(Problem("warning", f"policy.{key}", "unknown setting, ignored"))
    overrides = config_setting(config, "overrides") or {}
    policy = None
    try:
        policy = load_policy(str(config_setting(config, "preset") or "default"), directory=directory)
    except PolicyError as exc:
        problems.append(Problem("error", "policy.preset", str(exc)))
    override_problems = _override_problems(overrides)
    problems += override_problems
    if policy is not None and not override_problems:
        policy = load_policy(policy.name, overrides, directory=directory)
    problems += _calendar_problems(config, policy)
    if policy is not None:
        problems += _target_problems(policy)
    for name, handlers in (queues or {}).items():
        if not handlers:
            problems.append(
                Problem(
                    "error",
                    f"queue {name}",
                    "has no handler: messages routed there would never be answered",
                )
            )
    return sorted(problems, key=lambda p: p.level != "error")
