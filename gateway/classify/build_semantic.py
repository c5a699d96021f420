"""Build the semantic index (queue/rules/semantic.npy) and show, by cross-validation, whether it earns its place.

Run: .venv/bin/python -m gateway.classify.build_semantic [FOLDER ...] [--grid] [--test FOLDER] [--save]

Every labelled message of the folders (default: the dev set and all four held-out sets) is embedded once.
Cross-validation is grouped by folder: each folder is judged with an index built from the *other*
folders only, so a message is never its own neighbour and no set's near-duplicates leak into its own
judgement. It prints the rules alone against the rules with the semantic vote (thresholds from
``[decision.semantic]``, or every combination with ``--grid``). ``--test FOLDER`` instead builds the
index from the folders and judges FOLDER once. ``--save`` writes the index of every folder as float16
with semantic.json (each row's file and topic, the model version and token limit that made it).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

from gateway.classify.corpus import ROOT, Item, judge, line, read_items
from gateway.classify.decide import RuleSet, load_rules
from gateway.classify.embed import MAX_TOKENS, Encoder, model_version
from gateway.classify.evaluate import Report
from gateway.classify.semantic import INDEX, Index, Semantic

DEFAULT = [ROOT / "tests" / name for name in ("classify_devset", "classify_heldout", "classify_heldout2", "classify_heldout3",
                                      "classify_heldout4")]


def embed_all(items: list[Item], max_tokens: int) -> Any:
    """One normalised row per message, in the order given."""
    return Encoder(max_tokens=max_tokens).encode([it.text for it in items])


def with_index(rules: RuleSet, base: Semantic, items: list[Item], vectors: Any, rows: list[int]) -> RuleSet:
    """The rules with a semantic vote whose index holds only ``rows`` and whose 'model' looks vectors up."""
    lookup = {items[i].text: vectors[i] for i in range(len(items))}
    matrix = vectors[rows].astype("float16").astype("float32")  # as stored: float16
    index = Index(matrix, tuple(items[i].topic for i in rows), base.index.version, base.index.max_tokens)
    semantic = dataclasses.replace(base, index=index, embed=lookup.__getitem__, calls=0, runs=0)
    return dataclasses.replace(rules, semantic=semantic)


def grouped_cv(items: list[Item], vectors: Any, rules: RuleSet, base: Semantic) -> tuple[Report, int, int]:
    """Rules + semantic vote, each folder judged by an index of the other folders; (report, offered, runs)."""
    report = Report()
    offered = runs = 0
    for group in sorted({it.key.split("/", 1)[0] for it in items}):
        mine = [i for i, it in enumerate(items) if it.key.startswith(group + "/")]
        rest = [i for i, it in enumerate(items) if not it.key.startswith(group + "/")]
        judged = with_index(rules, base, items, vectors, rest)
        report.cases.extend(judge([items[i] for i in mine], judged).cases)
        assert judged.semantic is not None
        offered, runs = offered + judged.semantic.calls, runs + judged.semantic.runs
    return report, offered, runs


def per_group(report: Report) -> str:
    """Safeguarding recall and macro-F1 per folder, so one easy set cannot hide a hard one."""
    out = []
    for group in sorted({c.file.split("/", 1)[0] for c in report.cases}):
        part = Report([c for c in report.cases if c.file.startswith(group + "/")])
        sp, sr, _, _ = part.per_topic()["safeguarding"]
        out.append(f"{group}: F1 {part.macro_f1():.3f} sg P {sp:.2f} R {sr:.2f}")
    return "   ".join(out)


def base_semantic(rules: RuleSet, version: str) -> Semantic:
    """The configured semantic vote, or the defaults when it is off or its index is not built yet."""
    if rules.semantic is not None:
        return rules.semantic
    import numpy as np

    empty = Index(np.zeros((0, 384), dtype=np.float32), (), version, MAX_TOKENS)
    from gateway.classify.decide import compile_words, read_rule_files

    _, table, vocab = read_rule_files(ROOT / "queue" / "rules")
    sem = table.get("semantic", {})
    return Semantic(index=empty, k=int(sem.get("k", 7)), votes=int(sem.get("votes", 4)), least=float(sem.get("least", 0.5)),
                    weight=float(sem.get("weight", 0.8)), cue=compile_words(sem.get("cue", []), vocab),
                    concern=compile_words(sem.get("concern", []), vocab),
                    skip=frozenset(sem.get("skip", ["automatic", "abusive", "safeguarding"])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--rules", type=Path, default=None, help="rule folder (default: queue/rules)")
    parser.add_argument("--grid", action="store_true", help="cross-validate every k/votes/least combination")
    parser.add_argument("--test", type=Path, default=None, help="index the folders, judge this folder once")
    parser.add_argument("--changed", action="store_true", help="list the messages the semantic vote changes")
    parser.add_argument("--save", action="store_true", help=f"write {INDEX} and semantic.json from every folder")
    args = parser.parse_args(argv)
    rules = dataclasses.replace(load_rules(args.rules), semantic=None)
    version = model_version()
    base = base_semantic(load_rules(args.rules), version)
    items = read_items(args.folders, rules.max_chars)
    started = time.perf_counter()
    vectors = embed_all(items, base.index.max_tokens)
    print(f"{len(items)} messages embedded in {time.perf_counter() - started:.1f} s by {version}")
    if args.test is not None:
        tests = read_items([args.test], rules.max_chars)
        tvec = embed_all(tests, base.index.max_tokens)
        import numpy as np

        both = items + tests
        judged = with_index(rules, base, both, np.vstack([vectors, tvec]), list(range(len(items))))
        alone, voted = judge(tests, rules), judge(tests, judged)
        print(f"judged on {args.test} ({len(tests)} messages), index of the folders:")
    else:
        alone = judge(items, rules)
        voted, offered, runs = grouped_cv(items, vectors, rules, base)
        print(f"cross-validation grouped by folder (k {base.k}, votes {base.votes}, least {base.least}); "
              f"model ran on {runs}/{len(items)} messages")
    print(line("rules alone", alone), "\n   ", per_group(alone))
    print(line("rules + semantic vote", voted), "\n   ", per_group(voted))
    if args.changed:
        before = {c.file: c.got.topic for c in alone.cases}
        for case in voted.cases:
            if before[case.file] != case.got.topic:
                was_right = before[case.file] == case.expected
                mark = "fixed" if case.got.topic == case.expected else ("broke" if was_right else "moved")
                print(f"  {mark}: {case.file}: {before[case.file]} -> {case.got.topic}")
    if args.grid:
        for k, votes, least in itertools.product((5, 7, 9, 11), (2, 3, 4, 5, 6), (0.3, 0.4, 0.5, 0.6)):
            if votes > k:
                continue
            report, _, runs = grouped_cv(items, vectors, rules, dataclasses.replace(base, k=k, votes=votes, least=least))
            print(line(f"k {k:2} votes {votes} least {least}", report), f" runs {runs}")
    if args.save:
        import numpy as np

        out = (args.rules or ROOT / "queue" / "rules") / INDEX
        np.save(out, vectors.astype(np.float16))
        head = {"model": version, "max_tokens": base.index.max_tokens,
                "made_by": "python -m gateway.classify.build_semantic --save"}
        rows = ",\n".join(json.dumps([it.key, it.topic]) for it in items)  # one row a line: a readable diff
        out.with_suffix(".json").write_text(json.dumps(head)[:-1] + f', "rows": [\n{rows}\n]}}\n', encoding="utf-8")
        print(f"saved {out}: {vectors.shape[0]} x {vectors.shape[1]} float16, {out.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
