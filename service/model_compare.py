"""Two classifier versions evaluated on the same data, side by side (no Flask here).

The data sets are the moderators' most recent decisions (their current, effective labels,
from :func:`service.training_labels.training_set`) and the base evaluation files when they
are on the machine (``VIMOD_BASE_DATA``, default ``../shared/data/comments``; the dev files
of ``models/classifier/DATA.md``). One version's answers do not depend on what it is
compared with, so they are cached per model in Redis: per (model, file fingerprint) for a
base file, and per (model, comment) for the decisions, whose set changes with every new
decision. A comparison is then a few cache look-ups; a miss costs ~0.3–0.5 s per 1,000
texts and model.

Shadow mode figures (:func:`shadow_agreement`) come from what the workers stored on the
comments, not from running a model here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.classifier.datasets import LABELS, DataSpec, load_many
from models.classifier.metrics import classification_report
from models.classifier.model import Classifier
from models.classifier.registry import Registry
from service.storage import Comment
from service.training_labels import training_set

__all__ = ["BASE_FILES", "DEFAULT_RECENT", "EvalSet", "ModelLoadError", "SetComparison",
           "base_data_dir", "base_sets", "compare", "evaluate", "load_version",
           "recent_decisions", "shadow_agreement", "shadow_of", "trained_until"]

log = logging.getLogger(__name__)

DEFAULT_RECENT = 2000
# Below this many evaluation examples of a label, a comparison says little (at 30, one error
# moves that label's F1 by several points): pages say so, and promotion asks to confirm.
MIN_EXAMPLES_PER_LABEL = 30
DISAGREEMENTS_SHOWN = 20
CURVE_POINTS = 60          # enough for a smooth line in a 300-pixel picture
CACHE_PREFIX = "vimod:model-eval:"
CACHE_TTL_DECISIONS = 24 * 3600   # the recent decisions change all day long
CACHE_TTL_BASE = 7 * 24 * 3600
MAX_CACHED_COMMENTS = 50_000      # per model: a few MB of Redis
SECONDS_PER_TEXT = 0.0005         # one model, unseen text (measured 0.3–0.5 ms, 2 shared cores)


@dataclass(frozen=True)
class BaseFile:
    title: str
    file: str
    text_column: str
    label_column: str
    label_map: dict[str, str]


# The held-out dev files of the shipped model (models/classifier/DATA.md), as it maps them.
BASE_FILES: tuple[BaseFile, ...] = (
    BaseFile("ViHSD dev", "vihsd_dev.csv", "free_text", "label_id",
             {"0": "clean", "1": "offensive", "2": "hate"}),
    BaseFile("ViCTSD valid", "victsd_valid.csv", "Comment", "Toxicity",
             {"0": "clean", "1": "offensive"}),
    BaseFile("ViSpamReviews dev", "vispam_dev.csv", "Comment", "Label",
             {"0": "clean", "1": "spam"}),
    BaseFile("ViHOS dev", "vihos_dev.csv", "content", "index_spans",
             {"[]": "clean", "*": "offensive"}),
)


def base_data_dir() -> Path:
    return Path(os.environ.get("VIMOD_BASE_DATA") or "../shared/data/comments")


@dataclass
class EvalSet:
    """Texts with the labels they should get; ``refs`` are comment ids (decisions)."""

    key: str
    title: str
    texts: list[str]
    gold: list[str]
    refs: list[int] | None = None
    left_out: int = 0      # decisions a compared version was trained on
    available: int = 0     # decisions there are in all

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for i, (text, label) in enumerate(zip(self.texts, self.gold, strict=True)):
            ref = self.refs[i] if self.refs else i
            h.update(f"{ref}\x1f{label}\x1f{text}\x1e".encode())
        return h.hexdigest()[:20]


def trained_until(info: dict[str, Any]) -> tuple[datetime, int] | None:
    """For a version made by retraining (service/retraining.py): when it was trained and how
    many of the newest decisions it held out; None when it learned from no decisions."""
    data = info.get("data") if isinstance(info, dict) else None
    decisions = data.get("decisions") if isinstance(data, dict) else None
    created = parse_since(info.get("created")) if isinstance(info, dict) else None
    if not isinstance(decisions, dict) or created is None or not decisions.get("trained"):
        return None
    held = decisions.get("held_out")
    return created, held if isinstance(held, int) and held >= 0 else 0


def recent_decisions(session: Session, n: int = DEFAULT_RECENT, site_id: int | None = None,
                     trained: list[tuple[datetime, int]] | None = None) -> EvalSet:
    """The ``n`` most recent moderator decisions with their effective labels (admins'
    relabels applied, exclusions left out), oldest first.

    ``trained`` (:func:`trained_until` of the compared versions) leaves out the decisions
    a version may have learned from: those decided before it was trained, except the
    newest ones it held out. ``EvalSet.left_out`` counts what that removed."""
    last: deque = deque(maxlen=max(n, 0))
    before = [0] * len(trained or [])
    total = 0
    for ex in training_set(session, site_id=site_id):
        if ex.source != "decision":
            break  # decisions come first, then imported examples
        at = _iso_time(ex.at)
        for k, (until, _held) in enumerate(trained or []):
            if at is not None and at <= until:
                before[k] += 1
        last.append((total, ex))
        total += 1
    # Decisions come oldest first, so what a version trained on is a prefix of them.
    cutoff = max((b - held for b, (_, held) in zip(before, trained or [], strict=True)),
                 default=0)
    kept = [ex for i, ex in last if i >= cutoff]
    out = EvalSet("decisions", "recent decisions", [e.text for e in kept],
                  [e.label for e in kept], [e.ref for e in kept])
    out.left_out = max(cutoff, 0)
    out.available = total
    return out


def _iso_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def base_sets(base_dir: str | os.PathLike | None = None) -> list[EvalSet]:
    """The base evaluation files present under ``base_dir`` (missing ones are skipped;
    an unreadable one is logged and skipped)."""
    root = Path(base_dir) if base_dir is not None else base_data_dir()
    out = []
    for bf in BASE_FILES:
        path = root / bf.file
        if not path.is_file():
            continue
        try:
            ds = load_many([DataSpec(str(path), bf.text_column, bf.label_column,
                                     dict(bf.label_map))], dedupe=False)
        except (OSError, ValueError) as e:
            log.warning("base evaluation file %s unreadable: %s", path, e)
            continue
        if len(ds):
            out.append(EvalSet(f"base:{bf.file}", bf.title, ds.texts, ds.labels))
    return out


# --- one model on one data set --------------------------------------------------------------

def _pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[list[list[float]], float]:
    """Precision-recall points (recall rising) thinned to CURVE_POINTS, and average precision."""
    order = np.argsort(-s, kind="stable")
    y = y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(int(y.sum()), 1)
    ap = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    keep = np.unique(np.linspace(0, len(y) - 1, min(CURVE_POINTS, len(y))).astype(int))
    points = [[round(float(recall[i]), 4), round(float(precision[i]), 4)] for i in keep]
    return points, round(ap, 4)


def _curves(P: np.ndarray, gold: list[str], labels: list[str]) -> dict[str, Any]:
    gold_arr = np.asarray(gold)
    curves = {}
    for k, label in enumerate(labels):
        y = (gold_arr == label).astype(np.int64)
        if len(y) and y.any():
            points, ap = _pr_curve(y, P[:, k])
            curves[label] = {"ap": ap, "points": points}
    return curves


def _scores(clf: Classifier, texts: list[str]) -> tuple[list[str], np.ndarray]:
    # Rounded as they are cached, so a cached and a fresh answer draw the same curve.
    P = np.round(clf.proba(texts), 5)
    return clf.decide(P), P


def evaluate(clf: Classifier, data: EvalSet) -> dict[str, Any]:
    """The model's labels for every text and a precision-recall curve per label that
    occurs in the gold labels."""
    t0 = time.perf_counter()
    pred, P = _scores(clf, data.texts)
    return {"version": clf.version, "labels": list(clf.labels), "pred": pred,
            "curves": _curves(P, data.gold, list(clf.labels)),
            "seconds": round(time.perf_counter() - t0, 3)}


def model_key(registry: Registry, version: str) -> str:
    """The version plus a hash of its model.json: the shipped "default" changes with the
    package, and two registries may reuse a name."""
    digest = hashlib.sha256((registry.path_of(version) / "model.json").read_bytes())
    return f"{version}:{digest.hexdigest()[:12]}"


class _Cache:
    """Evaluations in Redis; without Redis (or on its errors) everything is recomputed."""

    def __init__(self, client: redis.Redis | None) -> None:
        self.client = client

    def get(self, key: str) -> dict | None:
        if self.client is None:
            return None
        try:
            raw = self.client.get(CACHE_PREFIX + key)
        except redis.RedisError as e:
            log.warning("model evaluation cache unavailable: %s", e)
            return None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def set(self, key: str, value: dict, ttl: int) -> None:
        if self.client is None:
            return
        try:
            self.client.set(CACHE_PREFIX + key, json.dumps(value, ensure_ascii=False), ex=ttl)
        except redis.RedisError as e:
            log.warning("model evaluation cache unavailable: %s", e)

    def exists(self, key: str) -> bool:
        if self.client is None:
            return False
        try:
            return bool(self.client.exists(CACHE_PREFIX + key))
        except redis.RedisError:
            return False

    def get_fields(self, key: str, names: list[str]) -> list[bytes | None]:
        if self.client is None:
            return [None] * len(names)
        try:
            return self.client.hmget(CACHE_PREFIX + key, names)
        except redis.RedisError as e:
            log.warning("model evaluation cache unavailable: %s", e)
            return [None] * len(names)

    def set_fields(self, key: str, fields: dict[str, str], ttl: int) -> None:
        if self.client is None:
            return
        try:
            pipe = self.client.pipeline()
            pipe.hset(CACHE_PREFIX + key, mapping=fields)
            pipe.expire(CACHE_PREFIX + key, ttl)
            pipe.hlen(CACHE_PREFIX + key)
            if pipe.execute()[-1] > MAX_CACHED_COMMENTS:   # start again rather than grow
                self.client.delete(CACHE_PREFIX + key)
        except redis.RedisError as e:
            log.warning("model evaluation cache unavailable: %s", e)


# --- two models side by side ------------------------------------------------------------------

@dataclass
class Side:
    version: str
    report: dict[str, Any]
    curves: dict[str, Any]
    right: int
    cached: bool


@dataclass
class SetComparison:
    key: str
    title: str
    n: int
    labels: list[str]
    a: Side
    b: Side
    both_right: int = 0
    only_a: int = 0
    only_b: int = 0
    neither: int = 0
    disagree: int = 0
    # Texts the two answer differently: {"ref", "text", "gold", "a", "b"} (decisions only).
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_decisions(self) -> bool:
        return self.key == "decisions"


def _labels(*groups: Iterable[str]) -> list[str]:
    present = set().union(*map(set, groups))
    return [y for y in LABELS if y in present] + sorted(present - set(LABELS))


def _side(version: str, ev: dict, data: EvalSet, labels: list[str], cached: bool) -> Side:
    idx = {y: i for i, y in enumerate(labels)}
    y_true = np.array([idx[g] for g in data.gold], dtype=np.int64)
    y_pred = np.array([idx[p] for p in ev["pred"]], dtype=np.int64)
    report = classification_report(y_true, y_pred, labels)
    return Side(version, report, ev["curves"], int((y_true == y_pred).sum()), cached)


def _pair(data: EvalSet, version_a: str, ev_a: dict, cached_a: bool,
          version_b: str, ev_b: dict, cached_b: bool) -> SetComparison:
    labels = _labels(data.gold, ev_a["labels"], ev_b["labels"])
    out = SetComparison(data.key, data.title, len(data), labels,
                        _side(version_a, ev_a, data, labels, cached_a),
                        _side(version_b, ev_b, data, labels, cached_b))
    for gold, pa, pb in zip(data.gold, ev_a["pred"], ev_b["pred"], strict=True):
        ra, rb = pa == gold, pb == gold
        out.both_right += ra and rb
        out.only_a += ra and not rb
        out.only_b += rb and not ra
        out.neither += not ra and not rb
        if pa != pb:
            out.disagree += 1
    if data.refs is not None:
        # Most recent first: what the moderators decided lately is what matters most.
        for i in range(len(data) - 1, -1, -1):
            if len(out.disagreements) >= DISAGREEMENTS_SHOWN:
                break
            if ev_a["pred"][i] != ev_b["pred"][i]:
                out.disagreements.append({"ref": data.refs[i], "text": data.texts[i],
                                          "gold": data.gold[i], "a": ev_a["pred"][i],
                                          "b": ev_b["pred"][i]})
    return out


class ModelLoadError(Exception):
    """A version's files are there but do not load (truncated, hand-edited, wrong format)."""

    def __init__(self, version: str, cause: BaseException) -> None:
        super().__init__(f"{version}: {type(cause).__name__}: {cause}")
        self.version = version


def load_version(registry: Registry, version: str) -> Classifier:
    """The version's classifier; KeyError/ValueError for a name that is no version."""
    path = registry.path_of(version)
    try:
        return Classifier.load(path, version=version)
    except Exception as e:  # noqa: BLE001 - zip, gzip, JSON, numpy errors: all "does not load"
        raise ModelLoadError(version, e) from e


def compare(registry: Registry, version_a: str, version_b: str, sets: list[EvalSet],
            cache_client: redis.Redis | None = None,
            loader: Callable[[str], Classifier] | None = None,
            budget: float | None = None) -> list[SetComparison]:
    """``version_a`` against ``version_b`` on each data set (empty sets are skipped).
    Raises KeyError for an unknown version, ModelLoadError for one that does not load.

    With a ``budget`` (seconds), a base file whose uncached evaluation would not fit in
    what is left is skipped (absent from the result): the next call, with more cached,
    gets further. The first set is always computed."""
    t0 = time.perf_counter()
    cache = _Cache(cache_client)
    keys = {v: model_key(registry, v) for v in (version_a, version_b)}
    loaded: dict[str, Classifier] = {}

    def model(v: str) -> Classifier:
        if v not in loaded:
            loaded[v] = (loader or (lambda name: load_version(registry, name)))(v)
        return loaded[v]

    def by_comment(v: str, data: EvalSet) -> tuple[dict, bool]:
        # A comment's text never changes, so a model's answer on it holds: cached per
        # comment, a new decision costs one text, and a relabel costs nothing.
        key = f"{keys[v]}:by-comment"
        refs = [str(r) for r in data.refs or []]
        cached = cache.get_fields(key, ["labels", *refs])
        labels = json.loads(cached[0]) if cached[0] else None
        rows = cached[1:] if labels else [None] * len(refs)
        missing = [i for i, row in enumerate(rows) if row is None]
        pred: list[str] = [""] * len(refs)
        P = np.zeros((len(refs), len(labels or [])))
        if missing:
            clf = model(v)
            labels = list(clf.labels)
            P = np.zeros((len(refs), len(labels)))
            new_pred, new_P = _scores(clf, [data.texts[i] for i in missing])
            fields = {"labels": json.dumps(labels)}
            for j, i in enumerate(missing):
                pred[i], P[i] = new_pred[j], new_P[j]
                fields[refs[i]] = json.dumps([new_pred[j], new_P[j].tolist()])
            cache.set_fields(key, fields, CACHE_TTL_DECISIONS)
        for i, row in enumerate(rows):
            if row is not None:
                pred[i], probs = json.loads(row)
                P[i] = probs
        return {"version": v, "labels": labels, "pred": pred,
                "curves": _curves(P, data.gold, labels)}, not missing

    def evaluation(v: str, data: EvalSet) -> tuple[dict, bool]:
        if data.refs is not None:
            return by_comment(v, data)
        key = f"{keys[v]}:{data.key}:{data.fingerprint}"
        hit = cache.get(key)
        if hit is not None and len(hit.get("pred", ())) == len(data):
            return hit, True
        ev = evaluate(model(v), data)
        cache.set(key, ev, CACHE_TTL_BASE)
        return ev, False

    def uncached(data: EvalSet) -> int:
        return sum(len(data) for v in (version_a, version_b)
                   if not cache.exists(f"{keys[v]}:{data.key}:{data.fingerprint}"))

    out: list[SetComparison] = []
    for data in sets:
        if not len(data):
            continue
        if budget is not None and out and data.refs is None and (todo := uncached(data)) \
                and time.perf_counter() - t0 + todo * SECONDS_PER_TEXT > budget:
            continue
        ev_a, hit_a = evaluation(version_a, data)
        ev_b, hit_b = evaluation(version_b, data)
        out.append(_pair(data, version_a, ev_a, hit_a, version_b, ev_b, hit_b))
    return out


# --- shadow mode -----------------------------------------------------------------------------

def shadow_of(analysis: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shadow candidate's answer stored with a comment, if any."""
    if not isinstance(analysis, dict):
        return None
    found = analysis.get("shadow")
    if found is None:
        found = ((analysis.get("phases") or {}).get("classifier") or {}).get("shadow")
    return found if isinstance(found, dict) and found.get("version") else None


def _active_label(analysis: dict[str, Any]) -> str | None:
    return ((analysis.get("phases") or {}).get("classifier") or {}).get("label")


def shadow_agreement(session: Session, version: str, since: datetime,
                     limit: int = 5000) -> dict[str, Any]:
    """How the shadow ``version`` and the active model compared on the (at most ``limit``
    most recent) comments both scored since ``since``, and who was right where a
    moderator has decided since."""
    rows = session.execute(
        select(Comment.id, Comment.analysis, Comment.model_version, Comment.body_original)
        .where(Comment.analysed_at >= since, Comment.model_version.is_not(None))
        .order_by(Comment.id.desc()).limit(limit)
    ).all()
    scored: dict[int, tuple[str, str, str, str]] = {}
    for cid, analysis, active_version, body in rows:
        shadow = shadow_of(analysis)
        active = _active_label(analysis) if analysis else None
        if shadow is None or shadow["version"] != version or active is None:
            continue
        scored[cid] = (active, str(shadow.get("label")), active_version, body)
    out: dict[str, Any] = {"version": version, "since": since, "n": len(scored),
                           "agree": sum(a == s for a, s, _, _ in scored.values()),
                           "moderated": 0, "active_right": 0, "shadow_right": 0,
                           "both_right": 0, "neither": 0, "examples": []}
    if not scored:
        return out
    decided = {ex.ref: ex.label for ex in training_set(session, since=since)
               if ex.source == "decision" and ex.ref in scored}
    for cid in sorted(decided, reverse=True):
        active, shadow, active_version, body = scored[cid]
        gold = decided[cid]
        ra, rs = active == gold, shadow == gold
        out["moderated"] += 1
        out["active_right"] += ra
        out["shadow_right"] += rs
        out["both_right"] += ra and rs
        out["neither"] += not ra and not rs
        if ra != rs and len(out["examples"]) < DISAGREEMENTS_SHOWN:
            out["examples"].append({"ref": cid, "text": body, "gold": gold, "a": active,
                                    "b": shadow, "active_version": active_version})
    return out


def parse_since(value: str | None) -> datetime | None:
    """The registry's "2026-11-23T18:40:00Z" as an aware datetime (None if unreadable)."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
