"""Policy presets: the timescales of a published customer-care policy, as TOML data.

A preset is a table of rules (queue/presets/<name>.toml, edited by admins, no code).
Each rule says which messages it covers (channel, topic, complaint stage; any left out
means "all") and the targets it sets. The most specific matching rule wins, field by
field, and the organisation's overrides from frontdesk.toml win over the preset.
Deadlines are counted in deadlines.py.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.policy.calendar import WorkingCalendar, make_calendar
from gateway.policy.deadlines import Deadlines, compute_deadlines
from gateway.resources import data_path

__all__ = [
    "CHANNELS",
    "Deadlines",
    "Policy",
    "PolicyError",
    "Rule",
    "Target",
    "compute_deadlines",
    "list_presets",
    "load_policy",
    "parse_rule",
    "policy_from_config",
]

CHANNELS = ("email", "webform", "post", "voicemail", "social")
REPLY_KINDS = ("reply_days", "reply_hours", "reply_months")
INT_KEYS = ("acknowledge_days", *REPLY_KINDS, "update_every_days")
TEXT_KEYS = ("named_role", "terms")
TERMS_FIELDS = ("acknowledge", "reply", "update", "named_role")
# Where a setting is looked for, first match wins: [policy] chooses the preset, [organisation]
# describes the organisation (nation, hours, closures) and wins over the preset's assumptions.
_TABLES = ("policy", "organisation")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
# What a message gets when no rule of the preset sets a value: the gateway's default.
BASE: Mapping[str, Any] = {
    "acknowledge_days": 2,
    "reply_days": 2,
    "update_every_days": 0,
    "named_role": "handler",
    "terms": "",
}


class PolicyError(ValueError):
    """A preset or override that cannot be used, with a message an admin can act on."""


@dataclass(frozen=True)
class Rule:
    """One row of the policy table: which messages it covers and what it sets."""

    values: tuple[tuple[str, Any], ...]
    channel: str | None = None
    topic: str | None = None
    stage: int | None = None
    why: str = ""
    origin: str = ""
    layer: int = 0  # 0 = the preset, 1 = the organisation's overrides (they win)

    def matches(self, channel: str, topic: str | None, stage: int | None) -> bool:
        """True when every selector the rule sets equals the message's."""
        return self.channel in (None, channel) and self.topic in (None, topic) and self.stage in (None, stage)

    def rank(self) -> tuple[int, int]:
        """Stage beats topic beats channel: complaint targets hold on any channel."""
        return (
            self.layer,
            (self.channel is not None) + 2 * (self.topic is not None) + 4 * (self.stage is not None),
        )


@dataclass(frozen=True)
class Target:
    """The targets for one kind of message. Exactly one reply_* field is set."""

    acknowledge_days: int
    reply_days: int | None
    reply_hours: int | None
    reply_months: int | None
    update_every_days: int | None
    named_role: str
    terms: str
    sources: tuple[str, ...]  # the rules that set it, for "explain"

    def reply_text(self) -> str:
        """The reply target in words, e.g. "3 working days" or "24 hours"."""
        return _reply_text(vars(self))


@dataclass(frozen=True)
class Policy:
    """A preset with the organisation's overrides, and the calendar it assumes."""

    name: str
    title: str
    nation: str
    opening_hours: tuple[tuple[str, str], ...]
    count_receipt_day: bool
    rules: tuple[Rule, ...]

    def target(self, channel: str, topic: str | None = None, stage: int | None = None) -> Target:
        """Merge the matching rules, least specific first, into a message's targets."""
        if channel not in CHANNELS:
            raise PolicyError(f"unknown channel {channel!r}: use {', '.join(CHANNELS)}")
        merged = dict(BASE)
        sources = []
        for rule in sorted((r for r in self.rules if r.matches(channel, topic, stage)), key=Rule.rank):
            for key, value in rule.values:
                if key in REPLY_KINDS:
                    for other in REPLY_KINDS:
                        merged.pop(other, None)
                merged[key] = value
            sources.append(f"{rule.why} ({rule.origin})" if rule.why else rule.origin)
        words = {
            "acknowledge": _plural(merged["acknowledge_days"], "working day"),
            "reply": _reply_text(merged),
            "update": _plural(merged["update_every_days"], "day"),
            "named_role": merged["named_role"],
        }
        return Target(
            acknowledge_days=merged["acknowledge_days"],
            reply_days=merged.get("reply_days"),
            reply_hours=merged.get("reply_hours"),
            reply_months=merged.get("reply_months"),
            update_every_days=merged["update_every_days"] or None,
            named_role=merged["named_role"],
            terms=merged["terms"].format_map(words),
            sources=tuple(sources),
        )


def _reply_text(values: Mapping[str, Any]) -> str:
    """The reply target in words, as the acknowledgement says it."""
    if values.get("reply_hours") is not None:
        return _plural(values["reply_hours"], "hour")
    if values.get("reply_months") is not None:
        return _plural(values["reply_months"], "calendar month")
    return _plural(values.get("reply_days") or 0, "working day")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def presets_dir() -> Path:
    """Where presets live: queue/presets, found like the rest of the gateway's data."""
    return data_path("queue") / "presets"


def list_presets(directory: Path | None = None) -> list[str]:
    """The names of the presets an organisation can choose."""
    return sorted(p.stem for p in (directory or presets_dir()).glob("*.toml"))


def parse_rule(table: Mapping[str, Any], origin: str, layer: int = 0) -> Rule:
    """Check one rule table and turn it into a Rule; the message names the bad key."""
    values: list[tuple[str, Any]] = []
    for key, value in table.items():
        if key in INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PolicyError(f"{origin}: {key} must be a whole number of 0 or more")
            if key == "reply_hours" and (value == 0 or value % 24):
                raise PolicyError(f"{origin}: reply_hours must be 24, 48, ... (whole days)")
        elif key in TEXT_KEYS:
            if not isinstance(value, str):
                raise PolicyError(f"{origin}: {key} must be text")
            if key == "terms":
                _check_terms(value, origin)
        elif key not in ("channel", "topic", "stage", "why"):
            raise PolicyError(f"{origin}: unknown key {key!r}")
        if key in INT_KEYS or key in TEXT_KEYS:
            values.append((key, value))
    channel, topic, stage = table.get("channel"), table.get("topic"), table.get("stage")
    if channel is not None and channel not in CHANNELS:
        raise PolicyError(f"{origin}: unknown channel {channel!r}: use {', '.join(CHANNELS)}")
    if topic is not None and not isinstance(topic, str):
        raise PolicyError(f"{origin}: topic must be text")
    if stage is not None and (isinstance(stage, bool) or stage not in range(1, 10)):
        raise PolicyError(f"{origin}: stage must be a whole number from 1 to 9")
    return Rule(tuple(values), channel, topic, stage, str(table.get("why", "")), origin, layer)


def _check_terms(text: str, origin: str) -> None:
    """Reject a placeholder the terms cannot fill, so an acknowledgement never shows
    {typo}.
    """
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        raise PolicyError(f"{origin}: terms: {exc} (write a brace twice to show one)") from exc
    unknown = names - set(TERMS_FIELDS)
    if unknown:
        fields = ", ".join("{" + f + "}" for f in TERMS_FIELDS)
        raise PolicyError(f"{origin}: terms uses {{{sorted(unknown)[0]}}}: use {fields}")


def override_rules(overrides: Mapping[str, Any]) -> list[Rule]:
    """Turn the [policy.overrides] table into rules that win over the preset's.

    Top-level target keys apply to every message; `[[policy.overrides.rule]]` entries
    are rules like the preset's own, for one channel, topic or stage.
    """
    rules = []
    top = {k: v for k, v in overrides.items() if k not in ("rule", "count_receipt_day")}
    if top:
        rules.append(parse_rule(top, "policy.overrides", layer=1))
    items = overrides.get("rule", [])
    if not isinstance(items, list):
        raise PolicyError("policy.overrides.rule must be a list: write [[policy.overrides.rule]]")
    for n, item in enumerate(items, start=1):
        rules.append(parse_rule(item, f"policy.overrides.rule {n}", layer=1))
    return rules


def load_policy(
    name: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    directory: Path | None = None,
) -> Policy:
    """Read preset `name` and apply the organisation's overrides on top."""
    if not _NAME.fullmatch(name):
        raise PolicyError(f"preset name {name!r}: use lower-case letters, digits and dashes")
    path = (directory or presets_dir()) / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(list_presets(directory)) or "none found"
        raise PolicyError(f"unknown preset {name!r} (known: {known})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"preset {name}: {path.name} is not valid TOML: {exc}") from exc
    rules = [parse_rule(t, f"preset {name}, rule {n}") for n, t in enumerate(data.get("rule", []), 1)]
    overrides = overrides or {}
    rules += override_rules(overrides)
    counting = overrides.get("count_receipt_day", data.get("count_receipt_day", False))
    if not isinstance(counting, bool):
        raise PolicyError("count_receipt_day must be true or false")
    return Policy(
        name=name,
        title=str(data.get("title", name)),
        nation=str(data.get("nation", "england")),
        opening_hours=tuple((str(k), str(v)) for k, v in data.get("opening_hours", {}).items()),
        count_receipt_day=counting,
        rules=tuple(rules),
    )


def config_setting(config: Mapping[str, Any], key: str) -> Any:
    """A setting from [policy], else [organisation], else the top level of the mapping."""
    for table in _TABLES:
        section = config.get(table)
        if isinstance(section, Mapping) and key in section:
            return section[key]
    return config.get(key)


def policy_from_config(config: Mapping[str, Any], *, directory: Path | None = None) -> tuple[Policy, WorkingCalendar]:
    """Build the organisation's policy and calendar; the preset fills in the rest.

    `config` holds the `[organisation]` and `[policy]` tables of frontdesk.toml (`preset`,
    `overrides`, `nation`, `opening_hours`, `closures`). Raises PolicyError (a ValueError)
    naming the bad setting.
    """
    name = config_setting(config, "preset") or "default"
    overrides = config_setting(config, "overrides") or {}
    if not isinstance(overrides, Mapping):
        raise PolicyError("policy.overrides must be a table")
    policy = load_policy(str(name), overrides, directory=directory)
    try:
        nation = config_setting(config, "nation") or policy.nation
        hours = config_setting(config, "opening_hours") or dict(policy.opening_hours) or None
        closures = config_setting(config, "closures") or []
        if isinstance(closures, str):
            closures = [closures]
        cal = make_calendar(str(nation), hours, closures)
    except ValueError as exc:
        raise PolicyError(str(exc)) from exc
    return policy, cal
