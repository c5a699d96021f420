"""A second, statistical opinion on the topic: naive Bayes over word unigrams and bigrams.

Why it exists: the rules name word families, and people who write in keep finding wordings no
family has yet. A model trained on every labelled message (gateway/classify/train.py writes
queue/rules/model.json) has seen how the whole of a message reads, so it can tip a message whose
rules found only a weak sign. It is evidence, never the decision: decide.py adds a small, capped
weight to the model's favourite topic, with its probability as the reason ("model: safeguarding
0.83"), and only for the topics named in ``[decision] model``; the precedence and thresholds stay
the rules'. A message the rules are sure about is never turned by it.

Features are binary (a word counts once per message however often it is repeated), which suits
short texts and keeps a long or repetitive message from being decided by its length.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"[a-z][a-z']*|\d+")
MAX_TOKENS = 600  # the top of a message says what it is about; the cost stays flat for long ones


def features(text: str) -> set[str]:
    """Unigrams and bigrams of a lower-cased text; numbers become '0' (a year or a phone number is no topic)."""
    words = ["0" if w[0].isdigit() else w.strip("'") for w in _TOKEN.findall(text.lower())[:MAX_TOKENS]]
    out = set(words)
    out.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return out


@dataclass(frozen=True)
class Model:
    """Per-class log priors and, per feature, the log-likelihood of seeing it in each class."""

    classes: tuple[str, ...]
    prior: tuple[float, ...]
    weights: Mapping[str, tuple[float, ...]]
    absent: tuple[float, ...]  # log-likelihood of a feature the model never kept

    def probabilities(self, text: str) -> dict[str, float]:
        """Posterior probability of each class for ``text`` (sums to 1)."""
        total = list(self.prior)
        n = len(total)
        for feat in features(text):
            row = self.weights.get(feat)
            if row is None:
                continue
            for i in range(n):
                total[i] += row[i]
        top = max(total)
        exp = [math.exp(v - top) for v in total]
        norm = sum(exp)
        return {c: e / norm for c, e in zip(self.classes, exp, strict=True)}

    def best(self, text: str) -> tuple[str, float]:
        """The most probable class and its probability."""
        probs = self.probabilities(text)
        topic = max(probs, key=probs.__getitem__)
        return topic, probs[topic]

    def to_json(self) -> dict[str, object]:
        return {"kind": "naive-bayes, binary unigrams and bigrams", "classes": list(self.classes),
                "prior": [round(p, 4) for p in self.prior],
                "weights": {f: [round(v, 3) for v in row] for f, row in sorted(self.weights.items())}}


def train(docs: Sequence[tuple[str, str]], min_docs: int = 2, keep: int = 4000, alpha: float = 0.5) -> Model:
    """Fit on (text, topic) pairs. Only features seen in ``min_docs`` messages are kept, and of those
    the ``keep`` that separate the classes most, so the saved model stays small and noise-free.

    Each row is stored relative to the class-average log-likelihood: naive Bayes only compares
    classes, so the shift changes no decision, and an unseen feature then simply counts zero."""
    classes = tuple(sorted({t for _, t in docs}))
    index = {c: i for i, c in enumerate(classes)}
    per_class = [0] * len(classes)
    counts: dict[str, list[int]] = {}
    for text, topic in docs:
        per_class[index[topic]] += 1
        for feat in features(text):
            counts.setdefault(feat, [0] * len(classes))[index[topic]] += 1
    kept = {f: c for f, c in counts.items() if sum(c) >= min_docs}
    rows: dict[str, tuple[float, ...]] = {}
    spread: dict[str, float] = {}
    for feat, c in kept.items():
        # Bernoulli-style presence rate per class, smoothed; the log-odds of presence is the evidence.
        logs = [math.log((c[i] + alpha) / (per_class[i] + 2 * alpha)) for i in range(len(classes))]
        mean = sum(logs) / len(logs)
        rows[feat] = tuple(v - mean for v in logs)
        spread[feat] = max(logs) - min(logs)
    best = sorted(rows, key=lambda f: -spread[f])[:keep]
    total = sum(per_class)
    prior = tuple(math.log(n / total) for n in per_class)
    return Model(classes, prior, {f: rows[f] for f in best}, tuple(0.0 for _ in classes))


def from_json(data: Mapping[str, Any]) -> Model:
    classes = tuple(str(c) for c in data["classes"])
    weights = {str(f): tuple(float(v) for v in row) for f, row in data["weights"].items()}
    prior = tuple(float(p) for p in data["prior"])
    return Model(classes, prior, weights, tuple(0.0 for _ in classes))


def load_model(path: Path) -> Model | None:
    """The saved model, or None when there is none (the rules then decide alone)."""
    if not path.exists():
        return None
    return from_json(json.loads(path.read_text(encoding="utf-8")))


def save_model(model: Model, path: Path) -> None:
    path.write_text(json.dumps(model.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")


def vote(model: Model, text: str, topics: Iterable[str], least: float) -> tuple[str, float] | None:
    """The model's topic when it is one it may vote for and it is at least ``least`` sure."""
    topic, p = model.best(text)
    return (topic, p) if topic in set(topics) and p >= least else None
