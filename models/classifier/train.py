"""Training: TF-IDF features → class-balanced logistic regression → calibration.

1. ``Featurizer.fit`` on the training texts (word 1–2-grams on the normal,
   teencode-expanded form, char 2–5-grams on the accent-stripped form);
2. ``folds``-fold cross-validation of a linear model (``LinearSVC`` one-vs-rest by
   default, or multinomial ``LogisticRegression``; ``class_weight="balanced"``,
   sample weights from the data files) gives out-of-fold scores;
3. calibration: a small multinomial logistic regression on those scores
   (matrix scaling, no class weighting) maps them to calibrated probabilities;
4. decision bias: ``-alpha × log(prior)`` with ``alpha`` chosen on the
   out-of-fold predictions to maximise macro-F1; the regularisation ``C`` is
   chosen the same way from ``C_grid`` unless given;
5. the final model is fitted on all data and the calibration folded into its
   weights (the result is still one linear model, so explanations are exact).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from models.classifier.datasets import LABELS, Dataset
from models.classifier.features import Featurizer
from models.classifier.metrics import classification_report
from models.classifier.model import Classifier, _softmax

__all__ = ["TrainParams", "train", "order_labels", "STAGES"]

# What ``train(on_stage=...)`` reports, in order: (stage, fraction of that stage done).
STAGES = ("features", "cross_validation", "calibration", "final_fit")
# Texts per step of the feature progress (a step costs well under a second).
_FEATURE_CHUNK = 2000


@dataclass
class TrainParams:
    loss: str = "svm"          # "svm" (LinearSVC, squared hinge) or "logistic"
    C: float | None = None     # None: chosen by cross-validation from C_grid
    C_grid: tuple[float, ...] = (0.03, 0.0625, 0.125, 0.25)
    folds: int = 3
    min_df: int = 2
    char_min: int = 2
    char_max: int = 5
    char_weight: float = 1.0
    max_word_features: int = 200_000
    max_char_features: int = 200_000
    stripped_words: bool = True
    cross_chars: bool = True
    meta: bool = True
    max_iter: int = 300
    seed: int = 13


def order_labels(labels) -> list[str]:
    """Known labels in the canonical order (clean, spam, offensive, hate), then others."""
    present = set(labels)
    return [y for y in LABELS if y in present] + sorted(present - set(LABELS))


def _lr_logit_form(lr, K: int) -> tuple[np.ndarray, np.ndarray]:
    """(coef features × K, intercept K) giving softmax-equivalent logits."""
    coef = np.asarray(lr.coef_, dtype=np.float64)
    icpt = np.asarray(lr.intercept_, dtype=np.float64)
    if coef.shape[0] == 1 and K == 2:
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        icpt = np.array([-icpt[0] / 2, icpt[0] / 2])
    return coef.T, icpt


def _fit_lr(X, y, w, params: TrainParams, K: int, C: float):
    if params.loss == "logistic":
        from sklearn.linear_model import LogisticRegression
        est = LogisticRegression(C=C, class_weight="balanced", max_iter=params.max_iter,
                                 tol=1e-3, random_state=params.seed)
    elif params.loss == "svm":
        from sklearn.svm import LinearSVC
        est = LinearSVC(C=C, class_weight="balanced", max_iter=params.max_iter * 10,
                        random_state=params.seed)
    else:
        raise ValueError(f"unknown loss {params.loss!r}")
    est.fit(X, y, sample_weight=w)
    return _lr_logit_form(est, K)


def _fit_features(feat: Featurizer, texts: list[str],
                  stage: Callable[[str, float], None]):  # noqa: ANN202
    """``feat.fit`` then ``feat.transform`` with progress; the same matrix as one call
    (each row is featurised and normalised on its own), in chunks so a caller can show
    how far it got."""
    from scipy import sparse

    n = max(1, len(texts))

    def counted():  # noqa: ANN202
        for i, text in enumerate(texts):
            if i % _FEATURE_CHUNK == 0:
                stage("features", 0.5 * i / n)
            yield text

    feat.fit(counted())
    blocks = []
    for start in range(0, len(texts), _FEATURE_CHUNK):
        stage("features", 0.5 + 0.5 * start / n)
        blocks.append(feat.transform(texts[start:start + _FEATURE_CHUNK]))
    stage("features", 1.0)
    return sparse.vstack(blocks, format="csr") if blocks else feat.transform(texts)


def train(ds: Dataset, params: TrainParams | None = None,
          progress: Callable[[str], None] | None = None,
          on_stage: Callable[[str, float], None] | None = None) -> tuple[Classifier, dict]:
    """A calibrated :class:`Classifier` and its cross-validated metrics.

    ``progress`` gets log lines; ``on_stage(stage, fraction)`` gets where training is
    (see :data:`STAGES`), often enough for a progress bar. Either may raise to abort.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    params = params or TrainParams()
    say = progress or (lambda _m: None)
    stage = on_stage or (lambda _s, _f: None)
    t_start = time.time()
    labels = order_labels(ds.labels)
    K = len(labels)
    if K < 2:
        raise ValueError(f"need at least two labels, got {labels}")
    index = {y: i for i, y in enumerate(labels)}
    y = np.array([index[v] for v in ds.labels])
    w = np.asarray(ds.weights, dtype=np.float64)
    counts = np.bincount(y, minlength=K)
    say(f"{len(ds)} texts, labels " + ", ".join(f"{lab}={n}" for lab, n in
                                                zip(labels, counts, strict=True)))

    t0 = time.time()
    feat = Featurizer((params.char_min, params.char_max), params.min_df,
                      params.max_word_features, params.max_char_features,
                      params.char_weight, params.stripped_words,
                      params.cross_chars, params.meta)
    if on_stage is None:
        X = feat.fit(ds.texts).transform(ds.texts)
    else:
        X = _fit_features(feat, list(ds.texts), stage)
    say(f"features: {len(feat.vocab)} ({feat.n_word} word, {len(feat.vocab) - feat.n_word} char)"
        f" in {time.time() - t0:.1f}s")

    folds = max(2, min(params.folds, int(counts.min()))) if counts.min() >= 2 else 0
    grid = [params.C] if params.C else list(params.C_grid)
    cv_report = None
    A, c = np.eye(K), np.zeros(K)
    bias = np.zeros(K)
    best_C = grid[-1]
    if folds:
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
        splits = list(skf.split(X, y))
        prior = counts / counts.sum()
        fits, done = len(grid) * len(splits), 0
        stage("cross_validation", 0.0)
        for ci, C in enumerate(grid):
            Z = np.zeros((len(y), K))
            t0 = time.time()
            for tr, te in splits:
                coef, icpt = _fit_lr(X[tr], y[tr], w[tr], params, K, C)
                Z[te] = X[te] @ coef + icpt
                done += 1
                stage("cross_validation", done / fits)
            stage("calibration", ci / len(grid))
            cal = LogisticRegression(C=100.0, max_iter=1000)
            cal.fit(Z, y)
            A_c, c_c = _lr_logit_form(cal, K)            # K × K, K
            P_cv = _softmax(Z @ A_c + c_c)
            logp = np.log(np.maximum(P_cv, 1e-12))
            best = (-1.0, 0.0)
            for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
                pred = np.argmax(logp - alpha * np.log(prior), axis=1)
                f1 = classification_report(y, pred, labels)["macro_f1"]
                if f1 > best[0] + 1e-4:
                    best = (f1, alpha)
            rep = classification_report(y, np.argmax(logp - best[1] * np.log(prior), axis=1),
                                        labels)
            rep["log_loss"] = round(float(-np.mean(logp[np.arange(len(y)), y])), 4)
            rep["decision_alpha"] = best[1]
            rep["C"] = C
            say(f"{folds}-fold cross-validation, C={C}: macro-F1 {rep['macro_f1']:.4f} "
                f"(decision alpha {best[1]}) in {time.time() - t0:.1f}s")
            if cv_report is None or rep["macro_f1"] > cv_report["macro_f1"] + 1e-4:
                cv_report, A, c, bias, best_C = rep, A_c, c_c, -best[1] * np.log(prior), C
        cv_report["C_grid"] = grid
        stage("calibration", 1.0)
        say(f"chose C={best_C}; calibrated on out-of-fold scores")

    t0 = time.time()
    stage("final_fit", 0.0)
    coef, icpt = _fit_lr(X, y, w, params, K, best_C)
    stage("final_fit", 1.0)
    say(f"final fit in {time.time() - t0:.1f}s")
    coef_eff = coef @ A
    icpt_eff = icpt @ A + c
    meta = {"params": {**asdict(params), "C": best_C},
            "trained_seconds": round(time.time() - t_start, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    clf = Classifier(feat, coef_eff, icpt_eff, labels, bias, meta=meta)
    metrics = {"cross_validation": cv_report}
    return clf, metrics
