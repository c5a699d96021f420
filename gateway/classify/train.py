"""Train the statistical second opinion (model.py) and show whether it earns its place.

Run: .venv/bin/python -m gateway.classify.train [FOLDER ...] [--folds K] [--save]

It reads every labelled folder given (default: the dev set and the first held-out set), and
prints the rules alone against the rules with the model's vote, in K-fold cross-validation: each
fold's messages are judged by a model that never saw them. ``--test FOLDER`` instead trains on the
folders and judges FOLDER once (train on one set, measure on another). ``--save`` writes the model
fitted on everything to queue/rules/model.json, where ``load_rules`` finds it. The model is kept
only while the figures say it helps; the rules decide alone when the file or ``[decision] model``
is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from gateway.classify.decide import RuleSet, classify, evidence_for, load_rules
from gateway.classify.evaluate import Case, Report, read_labels
from gateway.classify.model import Model, save_model, train
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


def fit(items: list[Item]) -> Model:
    # Machines are told apart by their headers and follow-ups by their reference, not their words:
    # the model learns the topics that only the wording shows.
    return train([(it.text, it.topic) for it in items if it.topic not in ("automatic", "follow_up")])


def folds(items: list[Item], k: int) -> list[list[Item]]:
    """Stratified, deterministic folds: every k-th message of each topic."""
    out: list[list[Item]] = [[] for _ in range(k)]
    by_topic: dict[str, list[Item]] = {}
    for it in items:
        by_topic.setdefault(it.topic, []).append(it)
    n = 0
    for topic in sorted(by_topic):
        for it in by_topic[topic]:
            out[n % k].append(it)
            n += 1
    return out


def line(name: str, report: Report) -> str:
    sp, sr, _, _ = report.per_topic()["safeguarding"]
    ab = report.per_topic()["abusive"]
    ge = report.per_topic()["general_enquiry"]
    return (f"{name:26} macro-F1 {report.macro_f1():.3f}  safeguarding P {sp:.2f} R {sr:.2f}  abusive R {ab[1]:.2f}  "
            f"enquiry P {ge[0]:.2f}  misses {len(report.misses())}  human->automatic {len(report.humans_called_automatic())}  "
            f"automatic acknowledged {len(report.automatic_acknowledged())}")


def cross_validate(items: list[Item], rules: RuleSet, k: int) -> tuple[Report, Report]:
    """(rules alone, rules with a fold model) over the same K folds."""
    alone = judge(items, dataclasses.replace(rules, model=None))
    voted = Report()
    for fold in folds(items, k):
        rest = [it for it in items if it not in fold]
        voted.cases.extend(judge(fold, dataclasses.replace(rules, model=fit(rest))).cases)
    return alone, voted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--rules", type=Path, default=None, help="rule folder (default: queue/rules)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--test", type=Path, default=None, help="train on the folders, judge this folder once")
    parser.add_argument("--save", action="store_true", help="write the model fitted on everything to model.json")
    parser.add_argument("--changed", action="store_true", help="list the messages the model's vote changes")
    args = parser.parse_args(argv)
    rules = load_rules(args.rules)
    items = read_items(args.folders, rules.max_chars)
    print(f"{len(items)} messages from {', '.join(str(f) for f in args.folders)}; vote: +{rules.model_weight:g} "
          f"at p >= {rules.model_least:g} for {', '.join(sorted(rules.model_topics)) or 'no topic'}")
    if args.test is not None:
        tests = read_items([args.test], rules.max_chars)
        model = fit(items)
        alone, voted = judge(tests, dataclasses.replace(rules, model=None)), judge(tests, dataclasses.replace(rules, model=model))
        print(f"judged on {args.test} ({len(tests)} messages), model trained on the folders:")
    else:
        alone, voted = cross_validate(items, rules, args.folds)
        print(f"{args.folds}-fold cross-validation:")
    print(line("rules alone", alone))
    print(line("rules + model vote", voted))
    if args.changed:
        before = {c.file: c.got.topic for c in alone.cases}
        for case in voted.cases:
            if before[case.file] != case.got.topic:
                was_right = before[case.file] == case.expected
                mark = "fixed" if case.got.topic == case.expected else ("broke" if was_right else "moved")
                print(f"  {mark}: {case.file}: {before[case.file]} -> {case.got.topic}")
    if args.save:
        started = time.perf_counter()
        model = fit(items)
        out = (args.rules or ROOT / "queue" / "rules") / "model.json"
        save_model(model, out)
        print(f"saved {out}: {len(model.weights)} features x {len(model.classes)} topics, "
              f"{out.stat().st_size // 1024} KiB, trained in {(time.perf_counter() - started) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
