"""Training: TF-IDF features → class-balanced linear models → calibration.

1. ``Featurizer.fit`` on the training texts (word 1–2-grams on the normal,
   teencode-expanded form, char 2–5-grams on the accent-stripped form);
2. ``folds``-fold cross-validation of a linear model (``LinearSVC`` one-vs-rest by
   default, or multinomial ``LogisticRegression``; ``class_weight="balanced"``,
   sample weights from the data files) gives out-of-fold scores; with ``nb`` (off by
   default, ``None``: chosen by cross-validation), also of a naive-Bayes-weighted
   one-vs-rest ``LinearSVC`` (NB-SVM, Wang & Manning 2012: each class's features
   scaled by their log-count ratio in that class vs the rest);
3. calibration: a small multinomial logistic regression on those scores
   (matrix scaling, no class weighting; with ``nb`` on both models' scores side by
   side, which also weighs the two models) maps them to calibrated probabilities;
4. decision bias: ``-alpha × log(prior)`` with ``alpha`` chosen on the
   out-of-fold predictions to maximise macro-F1; the regularisation ``C`` (from
   ``C_grid``) and ``nb`` are chosen the same way unless given;
5. the final model(s) are fitted on all data and the calibration folded into the
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
    nb: bool | None = False    # add the NB-SVM model (None: chosen by cross-validation)
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


def _nb_ratios(Xb, y: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Log-count ratio of each feature for class ``k`` vs the rest (binary presence,
    sample-weighted, add-one smoothed): NB-SVM's feature scaling."""
    pos = (y == k).astype(np.float64) * w
    neg = (y != k).astype(np.float64) * w
    p = 1.0 + np.asarray(Xb.T @ pos).ravel()
    q = 1.0 + np.asarray(Xb.T @ neg).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def _fit_nb(X, y, w, params: TrainParams, K: int, C: float) -> tuple[np.ndarray, np.ndarray]:
    """NB-SVM one-vs-rest as (coef features × K, intercept K): class k's LinearSVC is
    fitted on ``X · diag(r_k)`` (balanced weights, k vs the rest), so its weights on the
    original features are ``r_k × w_k``."""
    from scipy import sparse
    from sklearn.svm import LinearSVC

    Xb = X.copy()
    Xb.data[:] = 1.0
    classes = [1] if K == 2 else list(range(K))
    coef = np.zeros((X.shape[1], len(classes)))
    icpt = np.zeros(len(classes))
    for i, k in enumerate(classes):
        r = _nb_ratios(Xb, y, w, k)
        est = LinearSVC(C=C, class_weight="balanced", max_iter=params.max_iter * 10,
                        random_state=params.seed)
        est.fit(X @ sparse.diags(r.astype(np.float32)), (y == k).astype(np.int64),
                sample_weight=w)
        coef[:, i] = r * est.coef_[0]
        icpt[i] = est.intercept_[0]
    if K == 2:                      # one score s → logits (-s/2, s/2), as _lr_logit_form
        return np.hstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
    return coef, icpt


def _fit_all(X, y, w, params: TrainParams, K: int, C: float,
             nb: bool) -> tuple[np.ndarray, np.ndarray]:
    """The base model, and with ``nb`` the NB-SVM beside it: (features × K·m, K·m)."""
    coef, icpt = _fit_lr(X, y, w, params, K, C)
    if not nb:
        return coef, icpt
    coef_nb, icpt_nb = _fit_nb(X, y, w, params, K, C)
    return np.hstack([coef, coef_nb]), np.concatenate([icpt, icpt_nb])


def _decision_bias(logp: np.ndarray, y: np.ndarray, labels: list[str],
                   prior: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(macro-F1, alpha, bias) of ``bias = -alpha × log(prior)`` with the alpha that
    maximises macro-F1 on the out-of-fold predictions ``logp``.

    (A free per-class bias refined by coordinate search on the same predictions was
    tried: +0.1 pt cross-validated, −0.9 pt on ViHSD dev — it fits the folds' noise.)"""
    best = (-1.0, 0.0)
    for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
        pred = np.argmax(logp - alpha * np.log(prior), axis=1)
        score = classification_report(y, pred, labels)["macro_f1"]
        if score > best[0] + 1e-4:
            best = (score, alpha)
    return best[0], best[1], -best[1] * np.log(prior)


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
    nb_choices = [params.nb] if params.nb is not None else [False, True]
    cv_report = None
    A, c = np.eye(K), np.zeros(K)
    bias = np.zeros(K)
    best_C = grid[-1]
    best_nb = bool(params.nb)
    with_nb = True in nb_choices
    if folds:
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed)
        splits = list(skf.split(X, y))
        prior = counts / counts.sum()
        fits, done = len(grid) * len(splits) * (1 + with_nb), 0
        stage("cross_validation", 0.0)
        for ci, C in enumerate(grid):
            Z = np.zeros((len(y), 2 * K if with_nb else K))   # base scores [, NB-SVM's]
            t0 = time.time()
            for tr, te in splits:
                coef, icpt = _fit_lr(X[tr], y[tr], w[tr], params, K, C)
                Z[te, :K] = X[te] @ coef + icpt
                done += 1
                stage("cross_validation", done / fits)
                if with_nb:
                    coef, icpt = _fit_nb(X[tr], y[tr], w[tr], params, K, C)
                    Z[te, K:] = X[te] @ coef + icpt
                    done += 1
                    stage("cross_validation", done / fits)
            stage("calibration", ci / len(grid))
            for nb in nb_choices:
                Zc = Z if nb else Z[:, :K]
                cal = LogisticRegression(C=100.0, max_iter=1000)
                cal.fit(Zc, y)
                A_c, c_c = _lr_logit_form(cal, K)            # K·m × K, K
                P_cv = _softmax(Zc @ A_c + c_c)
                logp = np.log(np.maximum(P_cv, 1e-12))
                _, alpha, b_c = _decision_bias(logp, y, labels, prior)
                rep = classification_report(y, np.argmax(logp + b_c, axis=1), labels)
                rep["log_loss"] = round(float(-np.mean(logp[np.arange(len(y)), y])), 4)
                rep["decision_alpha"] = alpha
                rep["decision_bias"] = [round(float(x), 4) for x in b_c]
                rep["C"] = C
                rep["nb"] = nb
                say(f"{folds}-fold cross-validation, C={C}{', +NB-SVM' if nb else ''}: "
                    f"macro-F1 {rep['macro_f1']:.4f} (decision alpha {alpha}, bias "
                    f"{np.round(b_c, 2).tolist()}) in {time.time() - t0:.1f}s")
                if cv_report is None or rep["macro_f1"] > cv_report["macro_f1"] + 1e-4:
                    cv_report, A, c, bias, best_C, best_nb = rep, A_c, c_c, b_c, C, nb
        cv_report["C_grid"] = grid
        stage("calibration", 1.0)
        say(f"chose C={best_C}{' with NB-SVM' if best_nb else ''}; calibrated on out-of-fold "
            "scores")

    t0 = time.time()
    stage("final_fit", 0.0)
    coef, icpt = _fit_all(X, y, w, params, K, best_C, best_nb)
    if coef.shape[1] != A.shape[0]:     # nb without cross-validation: average the two
        A = np.vstack([np.eye(K), np.eye(K)]) / 2
    stage("final_fit", 1.0)
    say(f"final fit in {time.time() - t0:.1f}s")
    coef_eff = coef @ A
    icpt_eff = icpt @ A + c
    meta = {"params": {**asdict(params), "C": best_C, "nb": best_nb},
            "trained_seconds": round(time.time() - t_start, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    clf = Classifier(feat, coef_eff, icpt_eff, labels, bias, meta=meta)
    metrics = {"cross_validation": cv_report}
    return clf, metrics
