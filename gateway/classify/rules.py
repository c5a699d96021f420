"""Topic rules as data: tiny named checks, each recording *why* it matched.

Rules live in ``queue/rules/*.toml`` so an admin can read and change them without Python. Each
rule has one verb, ``check(evidence) -> list[str]``: the phrases, header values or form answers
that made it match (empty when it did not). Deciding what the matches mean is someone else's job
(``decide.py``), as in Mailman, where a rule says *that* and *why* and a chain says *what next*.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Words before a match that turn praise or complaint words around ("not helpful").
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+)?$")


def entry_pattern(entry: str) -> str:
    """Regular expression for one word-list entry (syntax in queue/rules/vocab.toml)."""
    if entry.startswith("re:"):
        return entry[3:]
    parts: list[str] = []
    for token in entry.lower().split():
        if token == "*":
            parts.append(r"(?:\S+\s+){0,3}?")
            continue
        stem = token.endswith("*")
        body = re.escape(token.rstrip("*")).replace("'", "['’]")
        end = r"\w*" if stem else (r"\b" if token[-1:].isalnum() else "")
        parts.append(body + end + r"\s+")
    text = "".join(parts)
    text = text[: -len(r"\s+")] if text.endswith(r"\s+") else text
    lead = r"\b" if entry[:1].isalnum() else ""
    return lead + text


def compile_words(entries: Sequence[str], vocab: Mapping[str, Sequence[str]]) -> re.Pattern[str] | None:
    """One alternation for a whole list, with ``@family`` names expanded from the vocabulary."""
    expanded: list[str] = []
    for entry in entries:
        if entry.startswith("@"):
            if entry[1:] not in vocab:
                raise ValueError(f"unknown word family {entry!r}")
            expanded.extend(vocab[entry[1:]])
        else:
            expanded.append(entry)
    if not expanded:
        return None
    return re.compile("|".join(f"(?:{entry_pattern(e)})" for e in expanded), re.IGNORECASE)


@dataclass
class Evidence:
    """What the rules look at, prepared once per message so each check stays cheap."""

    text: str  # subject and body, lower-cased, quoted lines dropped
    subject: str
    mailboxes: frozenset[str]  # local parts of the recipients
    form: Mapping[str, str]
    sender: str = ""
    _word_starts: list[int] = field(default_factory=list)

    def word_index(self, pos: int) -> int:
        """Index of the word containing ``pos``, for 'within N words' checks."""
        if not self._word_starts:
            self._word_starts = [m.start() for m in re.finditer(r"\S+", self.text)]
        return bisect_right(self._word_starts, pos)


@dataclass
class Rule:
    """One named check. One of form, mailbox, sender, subject or words says what it looks at."""

    name: str
    topic: str
    weight: float
    description: str
    words: re.Pattern[str] | None = None
    near: re.Pattern[str] | None = None
    within: int = 12
    subject: re.Pattern[str] | None = None
    form: Mapping[str, frozenset[str]] = field(default_factory=dict)
    mailbox: frozenset[str] = frozenset()
    sender: re.Pattern[str] | None = None
    negatable: bool = False

    def check(self, ev: Evidence) -> list[str]:
        """The evidence that made this rule match; empty when it did not."""
        if self.form:
            return [f"form {k}={ev.form[k]!r}" for k, ok in self.form.items() if ev.form.get(k, "").lower() in ok]
        if self.mailbox:
            return [f"sent to {box}@" for box in sorted(ev.mailboxes & self.mailbox)]
        if self.sender is not None:
            found = self.sender.search(ev.sender)
            return [f"sender {ev.sender}"] if found else []
        if self.subject is not None:
            found = self.subject.search(ev.subject)
            return [f"subject {found.group(0)!r}"] if found else []
        if self.words is None:
            return []
        if self.near is not None:
            return self._check_near(ev)
        for found in self.words.finditer(ev.text):
            if self.negatable and _NEGATION.search(ev.text, max(0, found.start() - 20), found.start()):
                continue
            return [repr(found.group(0).strip())]
        return []

    def _check_near(self, ev: Evidence) -> list[str]:
        """Two word families within ``within`` words of each other (either order)."""
        assert self.words is not None and self.near is not None
        anchors = [(ev.word_index(m.start()), m.group(0)) for m in self.words.finditer(ev.text)]
        if not anchors:
            return []
        for found in self.near.finditer(ev.text):
            at = ev.word_index(found.start())
            for index, word in anchors:
                if abs(index - at) <= self.within:
                    return [f"{word.strip()!r} within {abs(index - at)} words of {found.group(0).strip()!r}"]
        return []


def rule_from_table(table: Mapping[str, Any], vocab: Mapping[str, Sequence[str]], source: str) -> Rule:
    """Build a rule from its TOML table; a mistake names the file and rule."""
    where = f"{source}: rule {table.get('name', '?')!r}"
    try:
        rule = Rule(
            name=str(table["name"]),
            topic=str(table["topic"]),
            weight=float(table["weight"]),
            description=str(table.get("description", "")),
            words=compile_words(table.get("words", []), vocab),
            near=compile_words(table.get("near", []), vocab),
            within=int(table.get("within", 12)),
            subject=compile_words(table.get("subject", []), vocab),
            form={k: frozenset(str(v).lower() for v in vs) for k, vs in table.get("form", {}).items()},
            mailbox=frozenset(str(b).lower() for b in table.get("mailbox", [])),
            sender=compile_words(table.get("sender", []), vocab),
            negatable=bool(table.get("negatable", False)),
        )
    except (KeyError, ValueError, TypeError, re.error) as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if rule.words is None and rule.subject is None and rule.sender is None and not rule.form and not rule.mailbox:
        raise ValueError(f"{where}: says nothing to look at (words, subject, sender, form or mailbox)")
    return rule


def read_rule_files(folder: Path) -> tuple[list[Rule], dict[str, Any]]:
    """All rules in ``folder/*.toml`` (vocabulary first) and the ``[decision]`` table."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise FileNotFoundError(f"no rule files in {folder}")
    tables = {path.name: tomllib.loads(path.read_text(encoding="utf-8")) for path in files}
    vocab: dict[str, list[str]] = {}
    decision: dict[str, Any] = {}
    for data in tables.values():
        vocab.update(data.get("vocab", {}))
        decision.update(data.get("decision", {}))
    rules = [rule_from_table(t, vocab, name) for name, data in tables.items() for t in data.get("rule", [])]
    return rules, decision
