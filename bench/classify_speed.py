"""How long the whole classification step takes per message, against a baseline from the same run.

The step is what the pipeline pays per message: ``parse`` (the lead's parser), then ``classify``
(hygiene, every rule, the topic model, the decision). The baseline is the standard library's ``email``
parser alone on the same bytes, so the ratio shows what classification adds on top of reading the
mail at all; the rules alone (topic model off) are timed too, to show what the model costs.
Run: .venv/bin/python bench/classify_speed.py [FOLDER] [--rounds N]
"""

from __future__ import annotations

import argparse
import dataclasses
import email
import email.policy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.classify import classify, load_rules  # noqa: E402
from gateway.mail.parse import parse  # noqa: E402


def timings(messages: list[bytes], step: Callable[[bytes], object], rounds: int) -> list[float]:
    """Milliseconds per message, every message, every round (after one warm-up round)."""
    for raw in messages:
        step(raw)
    out: list[float] = []
    for _ in range(rounds):
        for raw in messages:
            start = time.perf_counter()
            step(raw)
            out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    median = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{name:34} median {median:7.3f} ms   p99 {p99:7.3f} ms   max {ms[-1]:7.3f} ms   n={len(ms)}")
    return median, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "tests" / "classify_devset")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    messages = [p.read_bytes() for p in sorted(args.folder.glob("*/*.eml"))]
    started = time.perf_counter()
    rules = load_rules()
    load_ms = (time.perf_counter() - started) * 1000
    rules_only = dataclasses.replace(rules, model=None)
    terms = len(rules.model.idf) if rules.model else 0

    def baseline(raw: bytes) -> object:
        return email.message_from_bytes(raw, policy=email.policy.default).get_body()

    def step(raw: bytes) -> object:
        return classify(parse(raw), channel="email", form=None, rules=rules)

    def step_rules_only(raw: bytes) -> object:
        return classify(parse(raw), channel="email", form=None, rules=rules_only)

    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"{len(messages)} messages from {args.folder}, {args.rounds} rounds; rules and topic model ({terms} terms) "
          f"loaded once in {load_ms:.1f} ms ({len(rules.rules)} rules)")
    base_median, base_p99 = summary("baseline: email parsing alone", timings(messages, baseline, args.rounds))
    summary("parse() alone", timings(messages, parse, args.rounds))
    summary("parse() + classify(), model off", timings(messages, step_rules_only, args.rounds))
    median, p99 = summary("parse() + classify() (the step)", timings(messages, step, args.rounds))
    print(f"ratio to baseline: median {median / base_median:.1f}x   p99 {p99 / base_p99:.1f}x")
    ok = median < 5 and p99 < 50
    print(f"target median < 5 ms and p99 < 50 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
