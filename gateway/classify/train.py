"""Train the topic model (queue/rules/model.json) and show, set by set, whether it earns its place.

Run: .venv/bin/python -m gateway.classify.train [FOLDER ...] [--test FOLDER] [--save]
Needs the ``train`` extra (scikit-learn); the stored model itself needs nothing (model.py).

Every labelled set was written by a different author, so the honest question is how the model does
on a set it has not seen: each folder is judged by a model trained on the *other* folders only
(cross-validation grouped by folder). It prints, per folder, the rules alone, the model alone and
the decision the product makes (rules plus model, thresholds from queue/rules/decision.toml).
The rules were written with every folder in view, so their own figures here are flattering; the
model's are not. ``--test FOLDER`` trains on the folders and judges FOLDER once (a new blind set).
``--save`` trains on every folder given and writes the model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from gateway.classify.corpus import ROOT, Item, judge, labelled_sets, line, per_group, read_items
from gateway.classify.decide import RuleSet, load_rules
from gateway.classify.evaluate import Case, Classification, Report
from gateway.classify.model import MODEL, TextModel, terms

# Chosen by the grouped cross-validation below (C 3, 10 and 30 within 0.006 of each other; terms seen in
# fewer than 3 messages add nothing and triple the file).
C = 10.0
MIN_DF = 3


def fit(items: list[Item], note: str = "") -> TextModel:
    """A model trained on ``items`` (their primary topics), as model.py reads it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=terms, min_df=MIN_DF, sublinear_tf=True)
    x = vectoriser.fit_transform([it.text for it in items])
    # balanced: safeguarding and complaints outnumber compliments four to one, and a rare topic must not
    # lose by being rare
    fitted = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, [it.topic for it in items])
    names = vectoriser.get_feature_names_out()
    idf = {str(t): round(float(v), 4) for t, v in zip(names, vectoriser.idf_, strict=True)}
    columns = fitted.coef_.T
    weights = {str(t): tuple(round(float(w), 4) for w in columns[j]) for j, t in enumerate(names)}
    return TextModel(tuple(str(c) for c in fitted.classes_), tuple(round(float(b), 4) for b in fitted.intercept_),
                     idf, weights, note)


def save(model: TextModel, path: Path) -> None:
    """One term a line, so a retrained model shows as a readable diff."""
    head = {"made_by": model.made_by, "topics": list(model.topics), "bias": list(model.bias),
            "format": "terms: term -> [idf, one weight per topic]; see gateway/classify/model.py"}
    rows = ",\n".join(f"{json.dumps(t, ensure_ascii=False)}: {json.dumps([model.idf[t], *model.weights[t]])}"
                      for t in sorted(model.idf))
    path.write_text(json.dumps(head, ensure_ascii=False)[:-1] + f', "terms": {{\n{rows}\n}}}}\n', encoding="utf-8")


def model_alone(items: list[Item], model: TextModel) -> Report:
    """The model's own best topic for each message, to compare with the rules'."""
    report = Report()
    for it in items:
        probs, _ = model.probabilities(it.text)
        report.cases.append(Case(it.key, it.topic, it.secondary, Classification(max(probs, key=probs.__getitem__), [], [], True)))
    return report


def grouped(items: list[Item], rules: RuleSet) -> tuple[Report, Report]:
    """(model alone, rules + model) with each folder judged by a model of the other folders."""
    alone, both = Report(), Report()
    for group in sorted({it.key.split("/", 1)[0] for it in items}):
        mine = [it for it in items if it.key.startswith(group + "/")]
        model = fit([it for it in items if not it.key.startswith(group + "/")])
        alone.cases.extend(model_alone(mine, model).cases)
        both.cases.extend(judge(mine, dataclasses.replace(rules, model=model)).cases)
    return alone, both


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=None)
    parser.add_argument("--rules", type=Path, default=None, help="rule folder (default: queue/rules)")
    parser.add_argument("--test", type=Path, default=None, help="train on the folders, judge this folder once")
    parser.add_argument("--save", action="store_true", help=f"train on every folder and write {MODEL}")
    args = parser.parse_args(argv)
    folders = args.folders or labelled_sets()
    if args.test is not None:  # a set is never judged by a model that has read it
        folders = [f for f in folders if f.resolve() != args.test.resolve()]
    rules = load_rules(args.rules, with_model=False)  # works with model.json missing or broken: this rebuilds it
    items = read_items(folders, rules.max_chars)
    print(f"{len(items)} messages in {len(folders)} sets; C {C}, terms in at least {MIN_DF} messages")
    if args.test is not None:
        tests = read_items([args.test], rules.max_chars)
        model = fit(items)
        reports = [("rules alone", judge(tests, rules)), ("model alone", model_alone(tests, model)),
                   ("rules + model", judge(tests, dataclasses.replace(rules, model=model)))]
        print(f"judged once on {args.test} ({len(tests)} messages), model trained on the folders:")
    else:
        alone, both = grouped(items, rules)
        reports = [("rules alone (seen every set)", judge(items, rules)), ("model alone (unseen set)", alone),
                   ("rules + model (unseen set)", both)]
    for name, report in reports:
        print(line(name, report), "\n   ", per_group(report))
    if args.save:
        out = (args.rules or ROOT / "queue" / "rules") / MODEL
        model = fit(items, f"python -m gateway.classify.train --save: {len(items)} messages from "
                           + ", ".join(f.name for f in folders))
        save(model, out)
        print(f"saved {out}: {len(model.idf)} terms x {len(model.topics)} topics, {out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
