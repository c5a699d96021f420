"""Topic rules as data: tiny named checks, each recording *why* it matched.

Rules live in ``queue/rules/*.toml`` so an admin can read and change them without Python. Each
rule has one verb, ``check(evidence) -> list[str]``: the phrases, header values or form answers
that made it match (empty when it did not). Deciding what the matches mean is someone else's job
(``decide.py``), as in Mailman, where a rule says *that* and *why* and a chain says *what next*.

Speed matters (every message pays for every rule), so a word family's matches are found once per
message and shared by every rule that names the same family, and "within N words" is answered by
a binary search over sorted word positions rather than by comparing every pair of matches.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Words before a match that turn praise or complaint words around ("not helpful").
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+)?$")
# A message made of one token repeated thousands of times must not cost thousands of checks.
MAX_MATCHES = 200
_WORD = re.compile(r"\S+")


def entry_pattern(entry: str, vocab: Mapping[str, Sequence[str]] | None = None, depth: int = 0) -> str:
    """Regular expression for one word-list entry (syntax in queue/rules/vocab.toml).

    A token ``@family`` inside a phrase stands for any entry of that family ("touched by * @staff"),
    so one phrase generalises over every word the family already knows.
    """
    if entry.startswith("re:"):
        return entry[3:]
    parts: list[str] = []
    for token in entry.lower().split():
        if token == "*":
            parts.append(r"(?:\S+\s+){0,3}?")
            continue
        if token.startswith("@") and len(token) > 1:
            if vocab is None or token[1:] not in vocab or depth > 2:
                raise ValueError(f"unknown word family {token!r}")
            alts = "|".join(f"(?:{entry_pattern(e, vocab, depth + 1)})" for e in vocab[token[1:]])
            parts.append(f"(?:{alts})" + r"\s+")
            continue
        stem = token.endswith("*")
        # People drop apostrophes ("dont", "im"): an entry with one matches the word without it too.
        body = re.escape(token.rstrip("*")).replace("'", "['’]?")
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
        if entry.startswith("@") and " " not in entry:
            if entry[1:] not in vocab:
                raise ValueError(f"unknown word family {entry!r}")
            expanded.extend(vocab[entry[1:]])
        else:
            expanded.append(entry)
    if not expanded:
        return None
    # Python's re tries every alternative at every position; grouping the entries that start a word by
    # their first letter lets it reject a position after one look ahead per letter instead of one
    # attempt per entry (a family has hundreds), which keeps long or repetitive messages cheap.
    by_letter: dict[str, list[str]] = {}
    other: list[str] = []
    for entry in expanded:
        pattern = entry_pattern(entry, vocab)
        first = _first_letter(entry)
        if first and pattern.startswith(r"\b"):
            by_letter.setdefault(first, []).append(pattern[2:])
        else:
            other.append(pattern)
    parts = [f"(?:{p})" for p in other]
    if by_letter:
        groups = "|".join(f"(?={re.escape(c)})(?:{'|'.join(ps)})" for c, ps in sorted(by_letter.items()))
        parts.insert(0, rf"\b(?:{groups})")
    return re.compile("|".join(parts), re.IGNORECASE)


def _first_letter(entry: str) -> str:
    """The literal letter an entry's match must start with, or "" when that cannot be known cheaply."""
    if entry.startswith(r"re:\b") and len(entry) > 6 and entry[5].isalnum() and entry[6] not in "?*+{|":
        return entry[5].lower()
    if not entry.startswith("re:") and entry[:1].isalnum():
        return entry[0].lower()
    return ""


def compile_families(entries: Sequence[str], vocab: Mapping[str, Sequence[str]],
                     cache: dict[str, re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    """One pattern per named family (shared through ``cache`` by every rule naming it) plus one for the
    rule's own entries, so a message is searched for each family once however many rules use it."""
    out: list[re.Pattern[str]] = []
    own: list[str] = []
    for entry in entries:
        if entry.startswith("@") and " " not in entry:
            if entry not in cache:
                found = compile_words([entry], vocab)
                if found is None:
                    raise ValueError(f"empty word family {entry!r}")
                cache[entry] = found
            out.append(cache[entry])
        else:
            own.append(entry)
    mine = compile_words(own, vocab)
    return (*out, mine) if mine is not None else tuple(out)


Hit = tuple[int, int, int, str]  # word index, start, end, matched text


@dataclass
class Evidence:
    """What the rules look at, prepared once per message so each check stays cheap."""

    text: str  # subject and body, lower-cased, quoted lines dropped
    subject: str
    mailboxes: frozenset[str]  # local parts of the recipients
    form: Mapping[str, str]
    sender: str = ""
    _word_starts: list[int] | None = None
    _hits: dict[str, list[Hit]] = field(default_factory=dict)

    def word_index(self, pos: int) -> int:
        """Index of the word containing ``pos``, for 'within N words' checks (positions found once)."""
        if self._word_starts is None:
            self._word_starts = [m.start() for m in _WORD.finditer(self.text)]
        return bisect_right(self._word_starts, pos)

    def hits(self, pattern: re.Pattern[str]) -> list[Hit]:
        """Matches of one family, found once per message however many rules use it, in text order."""
        found = self._hits.get(pattern.pattern)
        if found is None:
            found = []
            for m in pattern.finditer(self.text):
                if m.end() > m.start():
                    found.append((self.word_index(m.start()), m.start(), m.end(), m.group(0)))
                    if len(found) >= MAX_MATCHES:
                        break
            self._hits[pattern.pattern] = found
        return found

    def hits_of(self, patterns: Sequence[re.Pattern[str]]) -> list[Hit]:
        """Matches of several families, in text order."""
        if len(patterns) == 1:
            return self.hits(patterns[0])
        return sorted(hit for pattern in patterns for hit in self.hits(pattern))


@dataclass
class Rule:
    """One named check. One of form, mailbox, sender, subject or words says what it looks at."""

    name: str
    topic: str
    weight: float
    description: str
    words: tuple[re.Pattern[str], ...] = ()
    near: tuple[re.Pattern[str], ...] = ()
    within: int = 12
    subject: re.Pattern[str] | None = None
    form: Mapping[str, frozenset[str]] = field(default_factory=dict)
    mailbox: frozenset[str] = frozenset()
    sender: re.Pattern[str] | None = None
    negatable: bool = False
    unless: re.Pattern[str] | None = None  # innocent uses: a match inside one of these does not count
    weak: bool = False  # machine evidence too weak to decide the topic on its own (decide.py)

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
        if not self.words:
            return []
        anchors = self._usable(ev, ev.hits_of(self.words))
        if not anchors:
            return []
        if self.near:
            return self._check_near(ev, anchors)
        return [repr(anchors[0][3].strip())]

    def _usable(self, ev: Evidence, hits: list[Hit]) -> list[Hit]:
        """Hits that are neither negated ("not helpful") nor inside an innocent use ("free kick")."""
        out: list[Hit] = []
        for hit in hits:
            _, start, end, _ = hit
            if self.negatable and _NEGATION.search(ev.text, max(0, start - 20), start):
                continue
            if self.unless is not None and self._innocent(ev, start, end):
                continue
            out.append(hit)
        return out

    def _innocent(self, ev: Evidence, start: int, end: int) -> bool:
        """True when an innocent use ("free kick", "as a result") covers the match at start:end."""
        assert self.unless is not None
        window = self.unless.finditer(ev.text, max(0, start - 60), min(len(ev.text), end + 60))
        return any(m.start() <= start and m.end() >= end for m in window)

    def _check_near(self, ev: Evidence, anchors: list[Hit]) -> list[str]:
        """Two word families within ``within`` words of each other (either order), in linear time."""
        spots = sorted((h[0], h[3]) for h in anchors)
        index = [s[0] for s in spots]
        for at, start, end, word in ev.hits_of(self.near):
            if self.unless is not None and self._innocent(ev, start, end):
                continue
            i = bisect_left(index, at)
            best = min((spots[j] for j in (i - 1, i) if 0 <= j < len(spots)), key=lambda s: abs(s[0] - at))
            if abs(best[0] - at) <= self.within:
                return [f"{best[1].strip()!r} within {abs(best[0] - at)} words of {word.strip()!r}"]
        return []


def rule_from_table(table: Mapping[str, Any], vocab: Mapping[str, Sequence[str]], source: str,
                    cache: dict[str, re.Pattern[str]] | None = None) -> Rule:
    """Build a rule from its TOML table; a mistake names the file and rule."""
    cache = {} if cache is None else cache
    where = f"{source}: rule {table.get('name', '?')!r}"
    try:
        rule = Rule(
            name=str(table["name"]),
            topic=str(table["topic"]),
            weight=float(table["weight"]),
            description=str(table.get("description", "")),
            words=compile_families(table.get("words", []), vocab, cache),
            near=compile_families(table.get("near", []), vocab, cache),
            within=int(table.get("within", 12)),
            subject=compile_words(table.get("subject", []), vocab),
            form={k: frozenset(str(v).lower() for v in vs) for k, vs in table.get("form", {}).items()},
            mailbox=frozenset(str(b).lower() for b in table.get("mailbox", [])),
            sender=compile_words(table.get("sender", []), vocab),
            negatable=bool(table.get("negatable", False)),
            unless=compile_words(table.get("unless", []), vocab),
            weak=bool(table.get("weak", False)),
        )
    except (KeyError, ValueError, TypeError, re.error) as exc:
        raise ValueError(f"{where}: {exc}") from exc
    if not rule.words and rule.subject is None and rule.sender is None and not rule.form and not rule.mailbox:
        raise ValueError(f"{where}: says nothing to look at (words, subject, sender, form or mailbox)")
    return rule


def read_rule_files(folder: Path) -> tuple[list[Rule], dict[str, Any], dict[str, list[str]]]:
    """All rules in ``folder/*.toml`` (vocabulary first), the ``[decision]`` table and the vocabulary."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise FileNotFoundError(f"no rule files in {folder}")
    tables = {path.name: tomllib.loads(path.read_text(encoding="utf-8")) for path in files}
    vocab: dict[str, list[str]] = {}
    decision: dict[str, Any] = {}
    for data in tables.values():
        vocab.update(data.get("vocab", {}))
        decision.update(data.get("decision", {}))
    cache: dict[str, re.Pattern[str]] = {}
    rules = [rule_from_table(t, vocab, name, cache) for name, data in tables.items() for t in data.get("rule", [])]
    return rules, decision, vocab
