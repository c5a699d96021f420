"""The labelled message sets, read for building and judging the classifier's data (semantic index).

Each set is a folder of <topic>/*.eml with a labels.toml beside it (see gateway/classify/evaluate.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gateway.classify.decide import RuleSet, classify, evidence_for
from gateway.classify.evaluate import Case, Report, read_labels
from gateway.mail.parse import ParsedMessage, parse

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT = [ROOT / "tests" / "classify_devset", ROOT / "tests" / "classify_heldout"]


@dataclasses.dataclass
class Item:
    key: str
    topic: str
    secondary: list[str]
    channel: str
    form: dict[str, str] | None
    msg: ParsedMessage
    text: str


def read_items(folders: list[Path], max_chars: int) -> list[Item]:
    """Every labelled message in the folders, parsed once, with the text the rules read."""
    items: list[Item] = []
    for folder in folders:
        labels = read_labels(folder)
        for path in sorted(folder.glob("*/*.eml")):
            key = f"{path.parent.name}/{path.name}"
            label = labels.get(key, {})
            msg = parse(path.read_bytes())
            channel = label.get("channel", "email")
            form = label.get("form")
            text = evidence_for(msg, channel, form, max_chars).text
            items.append(Item(f"{folder.name}/{key}", path.parent.name, list(label.get("secondary", [])),
                              channel, form, msg, text))
    return items


def judge(items: list[Item], rules: RuleSet) -> Report:
    report = Report()
    for it in items:
        got = classify(it.msg, channel=it.channel, form=it.form, rules=rules)
        report.cases.append(Case(it.key, it.topic, it.secondary, got))
    return report


def line(name: str, report: Report) -> str:
    sp, sr, _, _ = report.per_topic()["safeguarding"]
    ab = report.per_topic()["abusive"]
    ge = report.per_topic()["general_enquiry"]
    return (f"{name:26} macro-F1 {report.macro_f1():.3f}  safeguarding P {sp:.2f} R {sr:.2f}  abusive R {ab[1]:.2f}  "
            f"enquiry P {ge[0]:.2f}  misses {len(report.misses())}  human->automatic {len(report.humans_called_automatic())}  "
            f"automatic acknowledged {len(report.automatic_acknowledged())}")
