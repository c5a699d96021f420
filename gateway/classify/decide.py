"""From a parsed message to a topic, secondary topics and the reasons for both.

Every rule votes its weight for its topic when it matches, and the topic model (model.py) adds
its probability for each topic times its weight; the ``[decision]`` table in
queue/rules/decision.toml turns the scores into a decision: first the precedence topics
(automatic, safeguarding, abusive, follow-up), then the highest score. The reasons kept on the
case are the rules that matched and what they matched, and the words that moved the model, so
staff can see why and disagree.

Machines are decided apart (``_machine``), because the two mistakes cost differently: strong
header evidence (machine.py) makes ``automatic`` on every channel but the web form; a weak hint
(a no-reply or system sender) only silences the acknowledgement, and the topic is read from the
content, so a person's words sent through a scanner or voicemail system are never filed as a machine's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.classify.machine import machine_evidence
from gateway.classify.model import MODEL, ModelError, TextModel, read_model
from gateway.classify.rules import Evidence, Rule, read_rule_files
from gateway.mail.parse import ParsedMessage

TOPICS = ("complaint", "general_enquiry", "membership", "qualifications", "safeguarding", "abusive",
          "data_protection", "accessibility_request", "compliment", "follow_up", "automatic")
# The one channel we build ourselves: a form submission carries no mail system's headers, so machine
# evidence is not looked for there. Every other channel is mail from outside, and a bounce can reach
# post@ or voicemail@ as easily as enquiries@.
PERSON_CHANNELS = frozenset({"webform"})
# Channels whose sender is always a system carrying a person's words (a voicemail transcriber, a post-room
# scanner, a social-media relay): a system's address there says nothing about who wrote the words, so it
# silences the acknowledgement (reply by the person's own channel) but does not lower the bar for "automatic".
RELAY_CHANNELS = frozenset({"voicemail", "post", "social"})
CONCERNS = ("safeguarding", "abusive")
_SPACES = re.compile(r"\s+")
WEAK_MACHINE = "sent from a no-reply/machine address: reply by the person's own channel"


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
    secondary_under: dict[str, dict[str, float]]
    fallback: str
    no_acknowledgement: frozenset[str]
    yields: list[tuple[str, str, float]] = field(default_factory=list)
    max_chars: int = 20000
    model: TextModel | None = None  # topic probabilities from words (model.py); None when off
    model_weight: float = 4.0  # what a probability of 1.0 adds to its topic's score
    model_skip: frozenset[str] = frozenset({"automatic"})  # topics the model never adds to a person's message
    model_support: frozenset[str] = frozenset()  # topics the model adds to only when one of their rules matched...
    model_alone: float = 1.0  # ...or its own probability for them is at least this
    model_machine: float = 1.0  # the model's own "automatic" probability that counts as machine wording (1.0: never)

    def needs(self, topic: str, secondary: bool = False, primary: str = "") -> float:
        """The score a topic needs to be primary (or secondary, under a given primary topic)."""
        under = self.secondary_under.get(primary, {})
        if secondary and topic in under:
            return under[topic]
        table = self.secondary_threshold if secondary else self.threshold
        return table.get(topic, table.get("default", 1.0))


def load_rules(path: Path | None = None, *, with_model: bool = True) -> RuleSet:
    """Read the rule folder (default: the shipped queue/rules); raises ValueError on a bad rule or model.

    ``with_model=False`` leaves the model out (train.py, which must work when model.json is missing).
    """
    if path is None:
        from gateway.resources import data_path

        path = data_path("queue") / "rules"
    rules, table, _ = read_rule_files(Path(path))
    unknown = sorted({r.topic for r in rules} - set(TOPICS))
    if unknown:
        raise ValueError(f"rules name unknown topics: {', '.join(unknown)}")
    model_table = table.get("model", {})
    model = None
    if with_model and model_table.get("enabled", False):
        try:
            model = read_model(Path(path), str(model_table.get("file", MODEL)), TOPICS)
        except ModelError as exc:
            raise ValueError(f"[decision.model] is enabled but {exc}") from exc
    return RuleSet(
        rules=rules,
        precedence=list(table.get("precedence", [])),
        order=list(table.get("order", [])),
        threshold={k: float(v) for k, v in table.get("threshold", {}).items()},
        secondary_threshold={k: float(v) for k, v in table.get("secondary_threshold", {}).items()},
        secondary_topics=list(table.get("secondary_topics", [])),
        secondary_under={str(k): {str(t): float(n) for t, n in v.items()}
                         for k, v in table.get("secondary_under", {}).items()},
        fallback=str(table.get("fallback", "general_enquiry")),
        no_acknowledgement=frozenset(table.get("no_acknowledgement", ["automatic", "abusive"])),
        yields=[(str(a), str(b), float(n)) for a, b, n in table.get("yields", [])],
        max_chars=int(table.get("max_chars", 20000)),
        model=model,
        model_weight=float(model_table.get("weight", 4.0)),
        model_skip=frozenset(model_table.get("skip", ["automatic"])),
        model_support=frozenset(model_table.get("support", [])),
        model_alone=float(model_table.get("alone", 1.0)),
        model_machine=float(model_table.get("machine", 1.0)),
    )


# No word is 40 characters long: such runs are base64, URLs, tracking ids or filler, carry no topic
# evidence, and would make every word-boundary scan crawl through them.
_LONG_TOKEN = re.compile(r"[^\s]{40,}")


def evidence_for(msg: ParsedMessage, channel: str, form: Mapping[str, str] | None, max_chars: int) -> Evidence:
    """Subject and body as the rules read them: lower-case, curly quotes straightened, our quoted text dropped,
    every run of spaces and line breaks one space."""
    body = "\n".join(line for line in msg.text[:max_chars].splitlines() if not line.lstrip().startswith(">"))
    text = f"{msg.subject}\n{body}".lower().replace("\u2019", "'").replace("\u2018", "'")
    # One space between words: a phrase ("i'll be waiting at the school gates") must match wherever the
    # writer's mail program wrapped the line, and a rule's regular expression says a space, not \s+.
    text = _SPACES.sub(" ", _LONG_TOKEN.sub(" ", text))
    answers = {str(k).lower(): str(v) for k, v in (form or {}).items()} if channel == "webform" else {}
    boxes = frozenset(a.split("@", 1)[0] for a in msg.to_addrs)
    return Evidence(text=text, subject=msg.subject.lower(), mailboxes=boxes, form=answers, sender=msg.from_addr)


def classify(msg: ParsedMessage, *, channel: str = "email", form: Mapping[str, str] | None = None,
             rules: RuleSet, own_addresses: Iterable[str] = ()) -> Classification:
    """Decide the topic; never raises for any message the parser returned."""
    scores: dict[str, float] = dict.fromkeys(TOPICS, 0.0)
    found: dict[str, list[str]] = {t: [] for t in TOPICS}
    defects = [f"parse defect: {d}" for d in msg.defects]
    machine = channel not in PERSON_CHANNELS
    strong, weak = machine_evidence(msg, own_addresses) if machine else ([], [])
    for why in strong:
        scores["automatic"] += 10.0
        found["automatic"].append(f"automatic +10 machine evidence: {why}")
    ev = evidence_for(msg, channel, form, rules.max_chars)
    for rule in rules.rules:
        if rule.topic == "automatic" and not machine:
            continue
        matched = rule.check(ev)
        if not matched:
            continue
        if rule.weak:  # a hint that a system sent it: silence, never the topic on its own
            weak.append(f"{rule.name}: {'; '.join(matched)}")
            continue
        scores[rule.topic] = round(scores[rule.topic] + rule.weight, 2)
        found[rule.topic].append(f"{rule.topic} {rule.weight:+g} {rule.name}: {'; '.join(matched)}")
    relayed = channel in RELAY_CHANNELS and bool(weak)  # a transcriber or scanner carried a person's words
    probs, terms = rules.model.probabilities(ev.text) if rules.model is not None else ({}, {})
    if machine and not relayed and rules.model is not None:
        _machine_vote(probs, terms, scores, found, rules, rules.model)
    adds = _model_adds(probs, scores, rules)
    # A concern for a person, as the rules and the model together see it, keeps a message from being filed as
    # a machine's; an everyday topic's share does not (receipts and notices read like membership and bookings).
    person = {t: scores[t] + (adds.get(t, 0.0) if t in CONCERNS else 0.0) for t in TOPICS}
    machine_topic = _machine(scores, person, rules, bool(strong), bool(weak) and not relayed)
    if machine_topic is None and rules.model is not None:
        _add_model(adds, probs, terms, scores, found, rules.model)
    topic, why = machine_topic or _primary(scores, rules)
    secondary = [t for t in rules.secondary_topics
                 if t != topic and scores[t] >= rules.needs(t, secondary=True, primary=topic)]
    if topic == "automatic":  # a machine's message raises no human concern of its own
        secondary = [t for t in secondary if t == "safeguarding"]
    reasons = [f"decision: {topic} ({why})"]
    if weak and topic != "automatic":
        reasons.append(f"{WEAK_MACHINE}: {'; '.join(weak)}")
    elif weak:
        reasons.extend(f"automatic weak machine evidence: {w}" for w in weak)
    for t in [topic, *secondary]:
        reasons.extend(found[t])
    reasons.extend(r for t in TOPICS if t != topic and t not in secondary for r in found[t])
    reasons.extend(defects)
    silent = (topic in rules.no_acknowledgement or any(t in rules.no_acknowledgement for t in secondary)
              or bool(strong or weak))
    return Classification(topic=topic, secondary=secondary, reasons=reasons, acknowledge=not silent,
                          scores={t: round(s, 2) for t, s in scores.items() if s})


def _machine(scores: Mapping[str, float], person: Mapping[str, float], rules: RuleSet, strong: bool,
             weak: bool) -> tuple[str, str] | None:
    """``automatic`` when a mail system surely made the message, or when machine wording (with a weak
    machine hint, less of it) is all there is; never when a person's topic reached its threshold, as
    the rules and the model together (``person``) score it."""
    if strong:
        return "automatic", f"score {scores['automatic']:g}: strong machine evidence"
    need = rules.needs("automatic_weak" if weak else "automatic")
    if scores["automatic"] < need:
        return None
    # A question mark is what surveys and receipts say too: the fallback topic is no evidence of a person.
    # A concern reaching its threshold always counts; an everyday topic only when it outweighs the machine
    # wording (an exam board's calendar acceptance says "EPA" once and "accepted", "VCALENDAR" all over).
    human = [t for t in rules.order + rules.precedence
             if t not in ("automatic", rules.fallback) and person.get(t, 0.0) >= rules.needs(t)
             and (t in CONCERNS or person.get(t, 0.0) >= scores["automatic"])]
    # With a system's sender and plenty of system wording, only a concern for a person outweighs it.
    if weak and scores["automatic"] >= rules.needs("automatic"):
        human = [t for t in human if t in ("safeguarding", "abusive")]
    if human:
        return None
    return "automatic", f"machine wording {scores['automatic']:g} >= {need:g} and no person's topic reached its threshold"


def _machine_vote(probs: Mapping[str, float], terms: Mapping[str, float], scores: dict[str, float],
                  found: dict[str, list[str]], rules: RuleSet, model: TextModel) -> None:
    """The model's "automatic", counted as machine wording when it is the model's first choice.

    A receipt, a calendar acceptance or an out-of-office sent without the headers that say so has
    only its wording to give it away, and the model knows that wording better than a phrase list. It
    is counted only where the rules look for machine wording (mail from outside, not relayed by a
    transcriber or scanner), and ``_machine`` still lets any person's topic that reached its
    threshold outrank it.
    """
    p = probs.get("automatic", 0.0)
    if p < rules.model_machine or p < max(probs.values()):
        return
    add = round(rules.model_weight * p, 2)
    scores["automatic"] = round(scores["automatic"] + add, 2)
    words = ", ".join(repr(w) for w in model.why(dict(terms), "automatic"))
    found["automatic"].append(f"automatic {add:+g} model: probability {p:.2f}" + (f" from {words}" if words else ""))


def _model_adds(probs: Mapping[str, float], scores: Mapping[str, float], rules: RuleSet) -> dict[str, float]:
    """What the model adds to each person's topic: its probability times its weight.

    Raw probabilities, never renormalised over the topics kept: a message the model takes for a
    machine's keeps small shares for the rest, and blowing those up would invent a topic. The topics
    in ``model_skip`` get nothing; those in ``model_support`` only when one of their own rules matched
    or the model alone is sure (``model_alone``): it may make a threat count, but a firm complaint's
    "if it happens again you'll hear from my solicitor" must not become abuse on a third of a vote.
    """
    return {t: round(rules.model_weight * p, 2) for t, p in probs.items()
            if t in scores and t not in rules.model_skip
            and (t not in rules.model_support or scores[t] > 0 or p >= rules.model_alone)}


def _add_model(adds: Mapping[str, float], probs: Mapping[str, float], terms: Mapping[str, float],
               scores: dict[str, float], found: dict[str, list[str]], model: TextModel) -> None:
    """Add the model's share to each person's topic; the reason names the words behind it."""
    for topic, add in sorted(adds.items(), key=lambda kv: -kv[1]):
        scores[topic] = round(scores[topic] + add, 2)
        if add >= 0.4:  # a tenth of probability or more: worth a line for staff
            words = ", ".join(repr(w) for w in model.why(dict(terms), topic))
            found[topic].append(f"{topic} {add:+g} model: probability {probs[topic]:.2f}" + (f" from {words}" if words else ""))


def _primary(scores: Mapping[str, float], rules: RuleSet) -> tuple[str, str]:
    """The precedence table first, then the best score, then the fallback; with the reason why."""
    for topic in rules.precedence:
        if topic != "automatic" and scores.get(topic, 0.0) >= rules.needs(topic):
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
