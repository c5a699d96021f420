"""Measure the rules against a labelled folder: per-topic precision and recall, and every miss.

The folder holds ``<topic>/*.eml`` (the directory is the primary topic) and optionally
``labels.toml`` with, per file, ``secondary``, ``channel`` and ``form``. The bar the project
holds the rules to is printed with the figures, so a regression is visible at a glance.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.classify.decide import TOPICS, Classification, RuleSet, classify
from gateway.mail.parse import parse


@dataclass
class Case:
    file: str
    expected: str
    expected_secondary: list[str]
    got: Classification


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    def per_topic(self) -> dict[str, tuple[float, float, float, int]]:
        """topic -> (precision, recall, F1, support) on the primary topic."""
        out: dict[str, tuple[float, float, float, int]] = {}
        for topic in TOPICS:
            tp = sum(c.expected == topic and c.got.topic == topic for c in self.cases)
            fp = sum(c.expected != topic and c.got.topic == topic for c in self.cases)
            fn = sum(c.expected == topic and c.got.topic != topic for c in self.cases)
            p = tp / (tp + fp) if tp + fp else 1.0
            r = tp / (tp + fn) if tp + fn else 1.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            out[topic] = (p, r, f, tp + fn)
        return out

    def macro_f1(self) -> float:
        rows = [v for v in self.per_topic().values() if v[3]]
        return sum(f for _, _, f, _ in rows) / len(rows) if rows else 0.0

    def automatic_acknowledged(self) -> list[Case]:
        return [c for c in self.cases if c.expected == "automatic" and c.got.acknowledge]

    def humans_called_automatic(self) -> list[Case]:
        return [c for c in self.cases if c.expected != "automatic" and c.got.topic == "automatic"]

    def wrongly_abusive(self) -> list[Case]:
        """People sent unanswered to the line manager (abusive as primary or secondary topic) who did not abuse staff."""
        return [c for c in self.cases if c.expected != "abusive" and "abusive" in (c.got.topic, *c.got.secondary)]

    def secondary_recall(self) -> tuple[int, int]:
        """(found, labelled) secondary topics, counting a label as found in primary or secondary."""
        want = [(c, s) for c in self.cases for s in c.expected_secondary]
        hit = sum(s == c.got.topic or s in c.got.secondary for c, s in want)
        return hit, len(want)

    def misses(self) -> list[Case]:
        return [c for c in self.cases if c.got.topic != c.expected]


def read_labels(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "labels.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def evaluate(folder: Path, rules: RuleSet) -> Report:
    """Classify every labelled .eml under ``folder``."""
    labels = read_labels(folder)
    report = Report()
    for path in sorted(folder.glob("*/*.eml")):
        key = f"{path.parent.name}/{path.name}"
        label = labels.get(key, {})
        msg = parse(path.read_bytes())
        got = classify(msg, channel=label.get("channel", "email"), form=label.get("form"), rules=rules)
        report.cases.append(Case(key, path.parent.name, list(label.get("secondary", [])), got))
    return report


def format_report(report: Report) -> str:
    """The figures, the confusion matrix and each miss with its reasons, as plain text."""
    lines = [f"{len(report.cases)} messages", "", f"{'topic':24} {'P':>5} {'R':>5} {'F1':>5} {'n':>4}"]
    for topic, (p, r, f, n) in report.per_topic().items():
        lines.append(f"{topic:24} {p:5.2f} {r:5.2f} {f:5.2f} {n:4d}")
    sp, sr, _, _ = report.per_topic()["safeguarding"]
    hit, want = report.secondary_recall()
    lines += ["", f"macro-F1 {report.macro_f1():.3f}   safeguarding P {sp:.2f} R {sr:.2f}   "
              f"secondary found {hit}/{want}",
              f"automatic acknowledged: {len(report.automatic_acknowledged())}   "
              f"human classified automatic: {len(report.humans_called_automatic())}   "
              f"wrongly abusive (unanswered): {len(report.wrongly_abusive())}",
              "bar: safeguarding R >= 0.97 and P >= 0.85; none acknowledged/none automatic; macro-F1 >= 0.90",
              "", "confusion (rows expected, columns got):"]
    short = [t[:5] for t in TOPICS]
    lines.append(" " * 24 + " ".join(f"{s:>5}" for s in short))
    pairs = Counter((c.expected, c.got.topic) for c in report.cases)
    for want_topic in TOPICS:
        lines.append(f"{want_topic:24}" + " ".join(f"{pairs[(want_topic, g)] or '.':>5}" for g in TOPICS))
    misses = report.misses()
    lines += ["", f"misses: {len(misses)}"]
    for case in misses:
        lines.append(f"- {case.file}: expected {case.expected}, got {case.got.topic} {case.got.secondary}")
        lines.extend(f"    {reason}" for reason in case.got.reasons)
    return "\n".join(lines)
