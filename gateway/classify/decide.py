"""From a parsed message to a topic, secondary topics and the reasons for both.

Every rule votes its weight for its topic when it matches; the ``[decision]`` table in
queue/rules/decision.toml turns the scores into a decision: first the precedence topics
(automatic, safeguarding, abusive, follow-up), then the highest score. The reasons kept on the
case are the rules that matched and what they matched, so staff can see why and disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.classify.rules import Evidence, Rule, read_rule_files
from gateway.hygiene import automatic_reasons
from gateway.mail.parse import ParsedMessage

TOPICS = ("complaint", "general_enquiry", "membership", "qualifications", "safeguarding", "abusive",
          "data_protection", "accessibility_request", "compliment", "follow_up", "automatic")
# Channels whose messages arrive in a person's own email, where RFC 3834 headers mean something.
# A form, a scanned letter, a voicemail or a forwarded DM was made by a person whatever carried it.
EMAIL_CHANNELS = frozenset({"email"})


@dataclass
class Classification:
    topic: str
    secondary: list[str]
    reasons: list[str]
    acknowledge: bool
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class RuleSet:
    rules: list[Rule]
    precedence: list[str]
    order: list[str]
    threshold: dict[str, float]
    secondary_threshold: dict[str, float]
    secondary_topics: list[str]
    fallback: str
    no_acknowledgement: frozenset[str]
    yields: list[tuple[str, str, float]] = field(default_factory=list)
    max_chars: int = 20000

    def needs(self, topic: str, secondary: bool = False) -> float:
        """The score a topic needs to be primary (or secondary)."""
        table = self.secondary_threshold if secondary else self.threshold
        return table.get(topic, table.get("default", 1.0))


def load_rules(path: Path | None = None) -> RuleSet:
    """Read the rule folder (default: the shipped queue/rules); raises ValueError on a bad rule."""
    if path is None:
        from gateway.resources import data_path

        path = data_path("queue") / "rules"
    rules, table = read_rule_files(Path(path))
    unknown = sorted({r.topic for r in rules} - set(TOPICS))
    if unknown:
        raise ValueError(f"rules name unknown topics: {', '.join(unknown)}")
    return RuleSet(
        rules=rules,
        precedence=list(table.get("precedence", [])),
        order=list(table.get("order", [])),
        threshold={k: float(v) for k, v in table.get("threshold", {}).items()},
        secondary_threshold={k: float(v) for k, v in table.get("secondary_threshold", {}).items()},
        secondary_topics=list(table.get("secondary_topics", [])),
        fallback=str(table.get("fallback", "general_enquiry")),
        no_acknowledgement=frozenset(table.get("no_acknowledgement", ["automatic", "abusive"])),
        yields=[(str(a), str(b), float(n)) for a, b, n in table.get("yields", [])],
        max_chars=int(table.get("max_chars", 20000)),
    )


def evidence_for(msg: ParsedMessage, channel: str, form: Mapping[str, str] | None, max_chars: int) -> Evidence:
    """Subject and body as the rules read them: lower-case, curly quotes straightened, our quoted text dropped."""
    body = "\n".join(line for line in msg.text[:max_chars].splitlines() if not line.lstrip().startswith(">"))
    text = f"{msg.subject}\n{body}".lower().replace("\u2019", "'").replace("\u2018", "'")
    answers = {str(k).lower(): str(v) for k, v in (form or {}).items()} if channel == "webform" else {}
    boxes = frozenset(a.split("@", 1)[0] for a in msg.to_addrs)
    return Evidence(text=text, subject=msg.subject.lower(), mailboxes=boxes, form=answers, sender=msg.from_addr)


def classify(msg: ParsedMessage, *, channel: str = "email", form: Mapping[str, str] | None = None,
             rules: RuleSet, own_addresses: Iterable[str] = ()) -> Classification:
    """Decide the topic; never raises for any message the parser returned."""
    scores: dict[str, float] = dict.fromkeys(TOPICS, 0.0)
    found: dict[str, list[str]] = {t: [] for t in TOPICS}
    defects = [f"parse defect: {d}" for d in msg.defects]
    machine = channel in EMAIL_CHANNELS
    if machine:
        for why in automatic_reasons(msg, own_addresses):
            scores["automatic"] += 10.0
            found["automatic"].append(f"automatic +10 hygiene: {why}")
    ev = evidence_for(msg, channel, form, rules.max_chars)
    for rule in rules.rules:
        if rule.topic == "automatic" and not machine:
            continue
        matched = rule.check(ev)
        if matched:
            scores[rule.topic] = round(scores[rule.topic] + rule.weight, 2)
            found[rule.topic].append(f"{rule.topic} {rule.weight:+g} {rule.name}: {'; '.join(matched)}")
    topic, why = _primary(scores, rules)
    secondary = [t for t in rules.secondary_topics
                 if t != topic and scores[t] >= rules.needs(t, secondary=True)]
    if topic == "automatic":  # a machine's message raises no human concern of its own
        secondary = [t for t in secondary if t == "safeguarding"]
    reasons = [f"decision: {topic} ({why})"]
    for t in [topic, *secondary]:
        reasons.extend(found[t])
    reasons.extend(r for t in TOPICS if t != topic and t not in secondary for r in found[t])
    reasons.extend(defects)
    silent = topic in rules.no_acknowledgement or any(t in rules.no_acknowledgement for t in secondary)
    return Classification(topic=topic, secondary=secondary, reasons=reasons, acknowledge=not silent,
                          scores={t: round(s, 2) for t, s in scores.items() if s})


def _primary(scores: Mapping[str, float], rules: RuleSet) -> tuple[str, str]:
    """The precedence table first, then the best score, then the fallback; with the reason why."""
    for topic in rules.precedence:
        if scores.get(topic, 0.0) >= rules.needs(topic):
            return topic, f"score {scores[topic]:g}, first in precedence {' > '.join(rules.precedence)}"
    ranked = [t for t in rules.order if scores.get(t, 0.0) >= rules.needs(t)]
    if not ranked:
        return rules.fallback, "no topic reached its threshold: fallback"
    best = max(ranked, key=lambda t: (round(scores[t], 2), -rules.order.index(t)))
    for topic, winner, least in rules.yields:
        if best == topic and scores.get(winner, 0.0) >= least:
            return winner, f"{topic} yields to {winner} (score {scores[winner]:g} >= {least:g})"
    return best, f"highest score {scores[best]:g}"


def describe(rules: RuleSet) -> list[dict[str, Any]]:
    """The rules as plain rows (name, topic, weight, description), for an admin listing."""
    return [{"name": r.name, "topic": r.topic, "weight": r.weight, "description": r.description} for r in rules.rules]
