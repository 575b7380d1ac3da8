"""A trained classifier: load, predict calibrated probabilities, explain.

A model directory holds

* ``model.json`` – format, labels, feature and training parameters, decision bias;
* ``vocab.json.gz`` – the feature names (column order);
* ``weights.npz`` – ``coef`` (features × labels, float32), ``intercept``, ``idf``;
* ``metrics.json`` – evaluation figures; ``data.json`` – training data summary.

The model is linear: ``logits = tfidf(text) @ coef + intercept`` and
``scores = softmax(logits)``. Calibration (fitted on cross-validated logits at
training time) is already folded into ``coef``/``intercept``, so the scores are
calibrated probabilities and each feature's contribution to a label's logit is
``tfidf value × coef`` exactly.

``label`` (``predict``) is ``argmax(log score + decision_bias)``: the bias
compensates for class imbalance (tuned for macro-F1 at training time) without
distorting the reported probabilities.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.classifier.features import Featurizer

__all__ = ["Classifier", "FORMAT"]

FORMAT = "vimod-linear-1"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class Classifier:
    """Linear TF-IDF classifier with calibrated probabilities and token explanations."""

    def __init__(self, featurizer: Featurizer, coef: np.ndarray, intercept: np.ndarray,
                 labels: Sequence[str], decision_bias: Sequence[float] | None = None,
                 meta: dict | None = None, version: str = "unsaved",
                 path: str | None = None) -> None:
        self.featurizer = featurizer
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)          # F × K
        self.intercept = np.asarray(intercept, dtype=np.float32)          # K
        self.labels: list[str] = list(labels)
        k = len(self.labels)
        self.decision_bias = np.asarray(
            decision_bias if decision_bias is not None else np.zeros(k), dtype=np.float64)
        self.meta = dict(meta or {})
        self.version = version
        self.path = path
        self._centred: np.ndarray | None = None
        if self.coef.shape != (len(featurizer.vocab), k):
            raise ValueError(f"coef shape {self.coef.shape} does not match "
                             f"{len(featurizer.vocab)} features × {k} labels")

    # -- persistence ---------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike, metrics: dict | None = None,
             data_summary: dict | None = None) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.featurizer.feature_names, ensure_ascii=False).encode("utf-8")
        with open(out / "vocab.json.gz", "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as fh:
            fh.write(data)   # mtime 0: the same model gives the same bytes
        # float16 weights keep the artifact small; they are widened again at load time
        np.savez_compressed(out / "weights.npz", coef=self.coef.astype(np.float16),
                            intercept=self.intercept, idf=self.featurizer.idf.astype(np.float16))
        model = {"format": FORMAT, "labels": self.labels,
                 "decision_bias": [float(x) for x in self.decision_bias],
                 "features": {**self.featurizer.params(), "n_word": self.featurizer.n_word,
                              "n_features": len(self.featurizer.vocab)},
                 **{k: v for k, v in self.meta.items() if k not in ("format", "labels")}}
        _write_json(out / "model.json", model)
        if metrics is not None:
            _write_json(out / "metrics.json", metrics)
        if data_summary is not None:
            _write_json(out / "data.json", data_summary)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike, version: str | None = None) -> Classifier:
        p = Path(path)
        model = json.loads((p / "model.json").read_text("utf-8"))
        if model.get("format") != FORMAT:
            raise ValueError(f"{p}: unknown model format {model.get('format')!r}")
        with gzip.open(p / "vocab.json.gz", "rt", encoding="utf-8") as fh:
            names = json.load(fh)
        with np.load(p / "weights.npz") as w:
            coef, intercept, idf = w["coef"], w["intercept"], w["idf"]
        fp = {k: v for k, v in model["features"].items() if k not in ("n_word", "n_features")}
        feat = Featurizer.from_state(fp, names, model["features"]["n_word"], idf)
        meta = {k: v for k, v in model.items() if k not in ("features", "decision_bias")}
        if version is None:
            version = model.get("version") or p.name
        return cls(feat, coef, intercept, model["labels"], model.get("decision_bias"),
                   meta=meta, version=version, path=str(p))

    # -- prediction ----------------------------------------------------------------
    def logits(self, texts: Sequence[str]) -> np.ndarray:
        X = self.featurizer.transform(list(texts))
        return np.asarray(X @ self.coef, dtype=np.float64) + self.intercept

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities as an array (rows = texts, columns = ``labels``)."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return _softmax(self.logits(texts))

    def predict_proba(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """``[{label: probability}]`` in ``labels`` order, one dict per text."""
        P = self.proba(texts)
        labels = self.labels
        return [dict(zip(labels, map(float, row), strict=True)) for row in P]

    def decide(self, P: np.ndarray) -> list[str]:
        """Labels for rows of probabilities (imbalance-corrected argmax)."""
        if len(P) == 0:
            return []
        idx = np.argmax(np.log(np.maximum(P, 1e-12)) + self.decision_bias, axis=1)
        return [self.labels[i] for i in idx]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return self.decide(self.proba(texts))

    def classify(self, texts: Sequence[str]) -> list[dict]:
        """``[{"label": ..., "scores": {label: p}}]`` (what ``vimod classify`` prints)."""
        P = self.proba(texts)
        return [{"label": y, "scores": dict(zip(self.labels, map(float, row), strict=True))}
                for y, row in zip(self.decide(P), P, strict=True)]

    # -- explanation ---------------------------------------------------------------
    def explain(self, text: str, top: int = 8, label: str | None = None) -> list[dict]:
        """Words/phrases of ``text`` that pushed the scores, strongest first.

        Each item is ``{"token", "start", "end", "label", "weight"}``: ``text[start:end]``
        is the span (offsets into the text as given), ``label`` the class it pushes
        towards and ``weight`` its contribution to that class's logit relative to the
        average of all classes. Word bigrams are shared between their two words; char
        n-grams belong to their word; adjacent words pushing the same label through a
        shared bigram are merged into one phrase. With ``label`` only contributions
        towards that class are reported. Only positive contributions are returned.
        """
        tokens, occ = self.featurizer.transform_with_spans(text)
        if not tokens:
            return []
        K = len(self.labels)
        centred = self._centred
        if centred is None:
            centred = self._centred = self.coef - self.coef.mean(axis=1, keepdims=True)
        per_tok = np.zeros((len(tokens), K))
        links: dict[int, np.ndarray] = {}   # token i → contribution of bigram (i, i+1)
        n_word = self.featurizer.n_word
        for j, v, a, b in occ:
            c = v * centred[j]
            if a == b:
                per_tok[a] += c
            else:
                per_tok[a] += c / 2
                per_tok[b] += c / 2
                if b == a + 1 and j < n_word:      # word bigram: may join a phrase
                    links[a] = links.get(a, 0) + c
        if label is not None:
            k_fixed = self.labels.index(label)
            best = np.full(len(tokens), k_fixed)
        else:
            best = per_tok.argmax(axis=1)
        items: list[dict] = []
        i = 0
        while i < len(tokens):
            k = int(best[i])
            w = float(per_tok[i, k])
            if w <= 0:
                i += 1
                continue
            j = i
            while (j + 1 < len(tokens) and int(best[j + 1]) == k and per_tok[j + 1, k] > 0
                   and j in links and links[j][k] > 0):
                j += 1
                w += float(per_tok[j, k])
            start, end = tokens[i].start, tokens[j].end
            items.append({"token": text[start:end], "start": start, "end": end,
                          "label": self.labels[k], "weight": round(w, 4)})
            i = j + 1
        items.sort(key=lambda d: -d["weight"])
        return items[:top]


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
