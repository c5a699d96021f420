"""The labelled message sets, read for training the topic model and judging the classifier (train.py).

Each set is a folder of <topic>/*.eml with a labels.toml beside it (see gateway/classify/evaluate.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gateway.classify.decide import RuleSet, classify, evidence_for
from gateway.classify.evaluate import Case, Report, read_labels
from gateway.mail.parse import ParsedMessage, parse

ROOT = Path(__file__).resolve().parent.parent.parent


def labelled_sets() -> list[Path]:
    """Every finished labelled set in tests/ (a set is finished when its author left a ``.complete`` file)."""
    return sorted(p.parent for p in (ROOT / "tests").glob("classify_*/.complete"))


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
            f"automatic acknowledged {len(report.automatic_acknowledged())}  wrongly abusive {len(report.wrongly_abusive())}")


def per_group(report: Report) -> str:
    """Macro-F1 and safeguarding P/R per folder, so one easy set cannot hide a hard one."""
    out = []
    for group in sorted({c.file.split("/", 1)[0] for c in report.cases}):
        part = Report([c for c in report.cases if c.file.startswith(group + "/")])
        sp, sr, _, _ = part.per_topic()["safeguarding"]
        out.append(f"{group.removeprefix('classify_')}: F1 {part.macro_f1():.3f} sg P {sp:.2f} R {sr:.2f}")
    return "   ".join(out)
