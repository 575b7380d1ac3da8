"""Retraining the content classifier from the base data plus the moderators' decisions.

Flask-free, so the training worker (workers/training.py), `vimod model retrain --inline`
and the benchmark call the same code. A run is one ``training_runs`` row:

    queued ──(a worker claims it: UPDATE … WHERE status='queued')──▶ running
    running ──▶ succeeded (a new registry version, not promoted) | failed (the error)

*Data.* The base rows are the recipe's files (``models/classifier/base_recipe.json``, the
shipped model's training data); the moderators' decisions and the admins' imported
examples come from :func:`service.training_labels.training_set` (overrides applied).
The newest slice of decisions (``holdout_fraction``, at most ``max_holdout``) is held out
for evaluation and never trained on — not even as a base row with the same text. The
rest are weighted above base rows and newer ones more:
``weight = 1 + (decision_weight − 1) · 0.5^(age_days / half_life_days)`` — 3 when fresh,
2 after 30 days, tending to 1 (a base row) — so this site's current judgement leads, and
an old decision still counts as much as a public-dataset row. Decisions are taken newest
first, so when two comments with the same text were decided differently the newest
decision is the one trained on. Imported examples weigh ``import_weight`` (2).

*Training* is :func:`models.classifier.train.train`, the code path of `vimod model train`,
with the recipe's parameters (C 0.25, as the shipped model). *Evaluation*: the held-out
decisions (the new model, and the active model on the same rows for comparison) and each
evaluation file of the recipe (its texts are held out of the base rows, as `vimod model
train` does). Metrics go to the registry version (metrics.json, data.json) and the row.

*One at a time.* :func:`start_run` refuses while another run is queued or running and not
stale. A running run sends a heartbeat to Redis (a key with a TTL, refreshed by a thread);
when it is gone — the worker was killed — the run is stale, and so is any run older than
the hard time limit; a stale run is marked failed when the next one starts, so a late
delivery of its message can no longer claim it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from models.classifier.datasets import Dataset, load_file, load_many, text_key
from models.classifier.metrics import evaluate_labels
from models.classifier.recipe import RECIPE_PATH, Recipe, development_set_keys, load_recipe
from service.storage import TrainingRun
from service.storage.tables import utcnow

__all__ = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "ACTIVE", "STAGES", "RetrainOptions",
           "RetrainError", "RunInProgress", "TrainingData", "gather", "decision_weight",
           "start_run", "execute_run", "mark_failed", "is_stale", "redis_alive",
           "heartbeat_key", "lower_priority", "run_timeout", "headline", "wait_for_run",
           "Preflight", "NeedsChoice", "preflight", "training_mode"]

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
ACTIVE = (QUEUED, RUNNING)

# Stages in order, and the share of the progress bar each takes (as measured on the
# 50,000-example benchmark: featurising and the cross-validation folds are most of it).
STAGES: dict[str, tuple[float, float]] = {
    "loading": (0.00, 0.05),
    "features": (0.05, 0.48),
    "cross_validation": (0.48, 0.83),
    "calibration": (0.83, 0.84),
    "final_fit": (0.84, 0.97),
    "evaluation": (0.97, 0.99),
    "registering": (0.99, 1.00),
}


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


def run_timeout() -> float:
    """Hard limit of one run in seconds (the task's time limit; older runs are stale)."""
    return _env_float("VIMOD_RETRAIN_TIMEOUT", 3600.0)


def heartbeat_interval() -> float:
    return _env_float("VIMOD_RETRAIN_HEARTBEAT", 10.0)


def queue_timeout() -> float:
    """A run still queued after this long found no training worker: stale."""
    return _env_float("VIMOD_RETRAIN_QUEUE_TIMEOUT", 900.0)


# --- options ------------------------------------------------------------------------------

@dataclass
class RetrainOptions:
    """What a run was asked for (stored in the row's ``params``)."""

    decision_weight: float = 3.0      # a fresh decision counts as 3 base rows
    half_life_days: float = 30.0      # ... and the part above 1 halves every 30 days
    import_weight: float = 2.0        # an admin's imported example
    holdout_fraction: float = 0.2     # newest 20 % of the decisions evaluate, never train
    max_holdout: int = 2000
    min_decisions_for_holdout: int = 10
    max_base_rows: int | None = None  # cap on base rows (tests, quick runs); None: all
    base_data: str | None = None      # directory of the base files; None: VIMOD_BASE_DATA
    recipe: str | None = None         # recipe file; None: the shipped base_recipe.json
    C: float | None = None            # None: the recipe's
    seed: int = 13
    # Explicit choices (issue #17): without them a run refuses rather than silently
    # training on less than it should. ``decisions_only``: the base files are missing and
    # the admin chose to train on the decisions, imports and shipped files only (the run
    # and the version are labelled so). ``allow_missing_labels``: the new model will not
    # know a label the active model has, and the admin accepted that.
    decisions_only: bool = False
    allow_missing_labels: bool = False

    def to_params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> RetrainOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (params or {}).items() if k in known})

    def check(self) -> None:
        if not 0 <= self.holdout_fraction < 1:
            raise ValueError("holdout_fraction must be in [0, 1)")
        if self.decision_weight <= 0 or self.import_weight <= 0 or self.half_life_days <= 0:
            raise ValueError("weights and the half-life must be positive")
        if self.max_base_rows is not None and self.max_base_rows < 0:
            raise ValueError("max_base_rows must be ≥ 0")
        if self.max_holdout < 0:
            raise ValueError("max_holdout must be ≥ 0")


class RetrainError(Exception):
    """A run cannot train (no usable data); the message is for the admin."""


class RunInProgress(Exception):
    def __init__(self, run: TrainingRun) -> None:
        super().__init__(f"run {run.id} is {run.status}; wait for it to finish")
        self.run = run


class NeedsChoice(RetrainError):
    """The run would drop base data or a label: it needs the admin's explicit choice."""

    def __init__(self, check: Preflight) -> None:
        super().__init__(check.describe())
        self.check = check


class _Aborted(Exception):
    """The run's row is no longer running (marked failed meanwhile): stop quietly."""


# --- data ---------------------------------------------------------------------------------

def decision_weight(age_days: float, options: RetrainOptions) -> float:
    extra = options.decision_weight - 1.0
    return 1.0 + extra * 0.5 ** (max(0.0, age_days) / options.half_life_days)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class TrainingData:
    dataset: Dataset                                  # what the model is trained on
    held_out: list[tuple[str, str]]                   # (text, label), newest decisions
    evals: list[tuple[str, Dataset]]                  # (file name, rows) of the recipe
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)    # English, for the run's message


def _cap(per_file: list[list[tuple[str, str]]], limit: int, seed: int) -> list[list]:
    """At most ``limit`` rows over all files, each file keeping its share (a seeded
    sample, in file order)."""
    total = sum(len(rows) for rows in per_file)
    if total <= limit:
        return per_file
    rng = random.Random(seed)
    out = []
    for rows in per_file:
        keep = limit * len(rows) // total
        idx = sorted(rng.sample(range(len(rows)), keep))
        out.append([rows[i] for i in idx])
    return out


def gather(session: Session, options: RetrainOptions, recipe: Recipe,
           now: datetime | None = None) -> TrainingData:
    """Read the decisions, imports and base files into one weighted training set, the
    held-out decisions and the evaluation files (see the module doc)."""
    from service.training_labels import training_set

    now = now or utcnow()
    examples = list(training_set(session))
    decisions = sorted((e for e in examples if e.source == "decision"),
                       key=lambda e: (_at(e.at), e.ref))
    imports = sorted((e for e in examples if e.source != "decision"),
                     key=lambda e: (_at(e.at), e.ref))
    notes: list[str] = []

    n_hold = 0
    if len(decisions) >= options.min_decisions_for_holdout:
        n_hold = min(options.max_holdout, int(len(decisions) * options.holdout_fraction))
    else:
        notes.append(f"only {len(decisions)} decisions (fewer than "
                     f"{options.min_decisions_for_holdout}): none held out for evaluation")
    train_decisions = decisions[:len(decisions) - n_hold]
    held: dict[str, tuple[str, str]] = {}
    for e in reversed(decisions[len(decisions) - n_hold:]):   # newest decision wins
        held.setdefault(text_key(e.text), (e.text, e.label))

    evals = [(os.path.basename(spec.path), load_many([spec], dedupe=False))
             for spec in recipe.eval]
    eval_keys = {text_key(t) for _, ev in evals for t in ev.texts}
    # The project's development set (models/classifier/eval/news_dev.csv) is never trained
    # on, whatever the source: a decision, an imported row or a base file.
    dev_keys = development_set_keys()

    ds = Dataset()
    seen = set(held)            # held-out texts are never trained on, in any form
    counts: dict[str, Counter] = {"decision": Counter(), "import": Counter()}
    dropped = Counter()
    sources = {"decision": len(recipe.train), "import": len(recipe.train) + 1}
    weights: list[float] = []
    for kind, rows in (("decision", reversed(train_decisions)), ("import", reversed(imports))):
        for e in rows:
            key = text_key(e.text)
            if key in dev_keys:
                dropped[kind + "_development_set"] += 1
                continue
            if key in seen:
                dropped[kind + ("_held_out" if key in held else "_duplicate")] += 1
                continue
            seen.add(key)
            if kind == "decision":
                age = (now - _at(e.at)).total_seconds() / 86400
                w = decision_weight(age, options)
                weights.append(w)
                if key in eval_keys:
                    dropped["decision_in_eval_file"] += 1   # kept, but counted
            else:
                w = options.import_weight
            ds.texts.append(e.text)
            ds.labels.append(e.label)
            ds.weights.append(w)
            ds.sources.append(sources[kind])
            counts[kind][e.label] += 1

    # Base files: first file wins on repeated texts (as load_many), evaluation texts and
    # anything already taken from a decision are left out.
    per_file: list[list[tuple[str, str]]] = []
    summaries: list[dict] = []
    for spec in recipe.train:
        texts, labels, summary = load_file(spec)
        mine: set[str] = set()
        kept: list[tuple[str, str]] = []
        dup = held_out = 0
        for t, y in zip(texts, labels, strict=True):
            key = text_key(t)
            if key in dev_keys:
                dropped["base_development_set"] += 1
            elif key in eval_keys or key in held:
                held_out += 1
            elif key in seen:          # a decision, an import or an earlier file has it
                dup += 1
            else:                      # (a repeat inside one file is kept, as load_many)
                mine.add(key)
                kept.append((t, y))
        seen |= mine
        summary.update(duplicates_dropped=dup, excluded_held_out=held_out)
        per_file.append(kept)
        summaries.append(summary)
    if options.max_base_rows is not None:
        per_file = _cap(per_file, options.max_base_rows, options.seed)
    for k, (spec, kept, summary) in enumerate(zip(recipe.train, per_file, summaries,
                                                   strict=True)):
        used = Counter(y for _, y in kept)
        summary.update(used=len(kept), used_labels=dict(sorted(used.items())))
        for t, y in kept:
            ds.texts.append(t)
            ds.labels.append(y)
            ds.weights.append(spec.weight)
            ds.sources.append(k)

    base_rows = sum(len(k) for k in per_file)
    if recipe.missing:
        names = ", ".join(os.path.basename(p) for p in recipe.missing)
        present = ", ".join(os.path.basename(s.path) for s in recipe.train) or "nothing"
        notes.append(f"base data not found in {recipe.data_dir} ({names}): trained on the "
                     f"decisions, imports and {present} only")
    if options.max_base_rows is not None:
        notes.append(f"base rows capped at {options.max_base_rows}")
    if n_dev := sum(n for k, n in dropped.items() if k.endswith("_development_set")):
        notes.append(f"{n_dev} examples left out: their text is in the development set "
                     "news_dev.csv (measured on, never trained on)")
    if dropped["decision_in_eval_file"]:
        notes.append(f"{dropped['decision_in_eval_file']} trained decisions also occur in a "
                     "base evaluation file (its figures are optimistic)")
    ds.summary = summaries
    summary = {
        "total": len(ds), "labels": ds.label_counts(),
        "base": {"rows": base_rows, "files": summaries, "missing": list(recipe.missing),
                 "missing_train": _missing_split(recipe, options)[0],
                 "present_base": [s.path for s in recipe.train if os.path.abspath(s.path)
                                  .startswith(os.path.abspath(str(recipe.data_dir)) + os.sep)],
                 "data_dir": str(recipe.data_dir), "recipe": f"{recipe.name} v{recipe.version}",
                 "capped_at": options.max_base_rows},
        "decisions": {"available": len(decisions), "trained": sum(counts["decision"].values()),
                      "held_out": len(held), "labels": dict(sorted(counts["decision"].items())),
                      "weight_min": round(min(weights), 3) if weights else None,
                      "weight_max": round(max(weights), 3) if weights else None},
        "imports": {"available": len(imports), "trained": sum(counts["import"].values()),
                    "labels": dict(sorted(counts["import"].items()))},
        "dropped": dict(sorted(dropped.items())),
        "eval_files": [name for name, _ in evals],
        "weighting": {"decision_weight": options.decision_weight,
                      "half_life_days": options.half_life_days,
                      "import_weight": options.import_weight,
                      "holdout_fraction": options.holdout_fraction,
                      "max_holdout": options.max_holdout},
    }
    return TrainingData(ds, list(held.values()), evals, summary, notes)


# --- before a run: what it would lack ---------------------------------------------------

@dataclass
class Preflight:
    """What a run with these options would train on, read before it starts (cheap: the
    recipe's label maps and the decisions' labels, not the base files' rows)."""

    data_dir: str
    missing_base: list[str]          # training files of the recipe ("in": "base") not found
    missing_eval: list[str]
    present_base: list[str]          # base training files found
    labels: list[str]                # labels the training data would have
    active_version: str
    active_labels: list[str]
    lacking: list[str]               # labels of the active model the new one would not know
    decisions_only: bool = False     # the choices the options carry
    allow_missing_labels: bool = False

    @property
    def needs_choice(self) -> bool:
        return bool((self.missing_base and not self.decisions_only)
                    or (self.lacking and not self.allow_missing_labels))

    def describe(self) -> str:
        """English, for the CLI and the log (the page has its own Vietnamese text)."""
        parts = []
        if self.missing_base:
            parts.append(f"base data missing in {self.data_dir}: "
                         + ", ".join(os.path.basename(p) for p in self.missing_base)
                         + " (set VIMOD_BASE_DATA to the folder holding them, see DATA.md; "
                         "or choose to train on the decisions and imports only: "
                         "--decisions-only)")
        if self.lacking:
            parts.append(f"the new model would not know the label(s) "
                         f"{', '.join(self.lacking)} that the active model "
                         f"{self.active_version} has (accept with --allow-missing-labels)")
        return "; ".join(parts)


def _missing_split(recipe: Recipe, options: RetrainOptions) -> tuple[list[str], list[str]]:
    """The recipe's missing base files: (training files, evaluation files)."""
    raw = json.loads(Path(options.recipe or RECIPE_PATH).read_text("utf-8"))
    eval_names = {os.path.basename(e["path"]) for e in raw.get("eval", [])}
    missing_eval = [p for p in recipe.missing if os.path.basename(p) in eval_names]
    return [p for p in recipe.missing if p not in missing_eval], missing_eval


def _spec_labels(spec: Any) -> set[str]:
    if spec.label_map:
        return {str(v) for v in spec.label_map.values() if v}
    _texts, labels, _summary = load_file(spec)
    return set(labels)


def preflight(session: Session, options: RetrainOptions | None = None,
              registry_root: str | os.PathLike | None = None) -> Preflight:
    """What a run would lack: missing base files, labels of the active model."""
    from models.classifier.registry import Registry
    from service.training_labels import training_set

    options = options or RetrainOptions()
    recipe = load_recipe(options.recipe, options.base_data)
    root = os.path.abspath(str(recipe.data_dir))
    missing_train, missing_eval = _missing_split(recipe, options)
    labels: set[str] = set()
    present = []
    for spec in recipe.train:
        labels |= _spec_labels(spec)
        if os.path.abspath(spec.path).startswith(root + os.sep):
            present.append(spec.path)
    labels |= {e.label for e in training_set(session)}
    registry = Registry(registry_root)
    active = registry.active_version()
    try:
        active_labels = list(registry.info(active).get("labels") or [])
    except (KeyError, OSError, ValueError):
        active_labels = []
    return Preflight(str(recipe.data_dir), missing_train, missing_eval, present,
                     sorted(labels), active, active_labels,
                     [y for y in active_labels if y not in labels],
                     options.decisions_only, options.allow_missing_labels)


def training_mode(summary: dict[str, Any] | None) -> str:
    """``full`` | ``partial_base`` (some base files missing, by choice) | ``decisions_only``
    (no base file at all: the decisions, imports and shipped files)."""
    base = (summary or {}).get("base") or {}
    if not base.get("missing_train", base.get("missing")):
        return "full"
    return "partial_base" if base.get("present_base") else "decisions_only"


# --- runs: starting, staleness ------------------------------------------------------------

def heartbeat_key(run_id: int) -> str:
    return f"vimod:retrain:alive:{run_id}"


def redis_alive(client: Any) -> Callable[[int], bool | None]:
    """``alive(run_id)``: True/False from the run's heartbeat key, None if Redis cannot
    be asked (then only the hard time limit makes a run stale)."""
    def alive(run_id: int) -> bool | None:
        if client is None:
            return None
        try:
            return bool(client.exists(heartbeat_key(run_id)))
        except Exception:  # noqa: BLE001 - Redis down: unknown, not dead
            return None
    return alive


def is_stale(run: TrainingRun, alive: bool | None, now: datetime | None = None) -> bool:
    """A queued run no worker took, or a running one whose worker is gone."""
    now = now or utcnow()
    if run.status == QUEUED:
        return now - run.created_at > timedelta(seconds=queue_timeout())
    if run.status != RUNNING:
        return False
    started = run.started_at or run.created_at
    age = (now - started).total_seconds()
    if age > run_timeout():
        return True
    # No heartbeat: the key outlives its last refresh by 3 intervals, so after that the
    # worker is gone (the grace also covers a run just claimed).
    return alive is False and age > 3 * heartbeat_interval()


def mark_failed(session: Session, run_id: int, message: str,
                statuses: tuple[str, ...] = ACTIVE) -> bool:
    """Failed with ``message``, if the run is still in one of ``statuses``; commits."""
    done = session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.status.in_(statuses))
        .values(status=FAILED, message=message[:1000], finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return done == 1


def _refuse_if_busy(session: Session, alive: Callable[[int], bool | None],
                    now: datetime) -> None:
    """Raise RunInProgress for a live active run; mark stale ones failed."""
    for run in session.scalars(select(TrainingRun).where(TrainingRun.status.in_(ACTIVE))
                               .order_by(TrainingRun.id)):
        if not is_stale(run, alive(run.id), now):
            raise RunInProgress(run)
        mark_failed(session, run.id, f"stale: no sign of its worker since "
                    f"{(run.started_at or run.created_at):%Y-%m-%d %H:%M:%S} UTC; "
                    "a new run was started", (run.status,))


def start_run(session: Session, *, created_by: int | None = None,
              options: RetrainOptions | None = None,
              alive: Callable[[int], bool | None] = lambda _id: None,
              task_id: str | None = None,
              on_created: Callable[[TrainingRun], object] | None = None,
              registry_root: str | os.PathLike | None = None) -> TrainingRun:
    """A new queued run, committed; raises :class:`RunInProgress` while another run is
    queued or running and not stale (stale ones are marked failed here), and
    :class:`NeedsChoice` when the base files are missing or a label of the active model
    would be lost and the options do not say the admin chose that (:func:`preflight`).

    ``on_created(run)`` may add rows to the session (the admin's audit entry): they are
    committed with the run, and removed with it if a concurrent start wins."""
    options = options or RetrainOptions()
    options.check()
    check = preflight(session, options, registry_root)
    if check.needs_choice:
        raise NeedsChoice(check)
    now = utcnow()
    _refuse_if_busy(session, alive, now)
    session.commit()    # end the read: SQLite cannot upgrade an outdated snapshot to a write
    run = TrainingRun(status=QUEUED, stage="queued", progress=0.0, params=options.to_params(),
                      created_by=created_by, created_at=now, task_id=task_id)
    session.add(run)
    session.flush()
    extra = on_created(run) if on_created else None
    session.commit()
    # Two starts at the same moment may both have passed the check above. Each looks
    # again after its commit and backs out if it sees another: whichever committed second
    # sees the first, so at most one run proceeds (both back out only in a dead heat).
    rival = session.scalars(select(TrainingRun).where(
        TrainingRun.status.in_(ACTIVE), TrainingRun.id != run.id)).first()
    if rival is not None:
        if extra is not None:
            session.delete(extra)
        session.execute(delete(TrainingRun).where(TrainingRun.id == run.id))
        session.commit()
        raise RunInProgress(rival)
    return run


def wait_for_run(sessions: sessionmaker[Session], run_id: int,
                 alive: Callable[[int], bool | None], timeout: float | None = None,
                 poll: float = 1.0,
                 on_change: Callable[[TrainingRun], None] | None = None) -> TrainingRun:
    """Poll the run until it ended, became stale or ``timeout`` seconds passed; returns the
    row as last read (still active if it did not end)."""
    deadline = time.monotonic() + timeout if timeout else None
    seen = None
    while True:
        with sessions() as s:
            row = s.get(TrainingRun, run_id)
        if row is None:
            raise LookupError(f"no training run {run_id}")
        state = (row.status, row.stage, round(row.progress or 0.0, 2))
        if on_change is not None and state != seen:
            on_change(row)
        seen = state
        if (row.status not in ACTIVE or is_stale(row, alive(run_id))
                or (deadline is not None and time.monotonic() > deadline)):
            return row
        time.sleep(poll)


def headline(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The figures a list of runs shows: held-out and cross-validated macro-F1, each
    base evaluation file's macro-F1, and the active model's on the same held-out rows."""
    m = metrics or {}
    out: dict[str, Any] = {}
    for key in ("held_out", "cross_validation"):
        rep = m.get(key)
        if isinstance(rep, dict) and "macro_f1" in rep:
            out[key] = {"macro_f1": rep["macro_f1"], "n": rep.get("n")}
    base = m.get("baseline") or {}
    rep = base.get("held_out") if isinstance(base, dict) else None
    if isinstance(rep, dict) and "macro_f1" in rep:
        out["baseline"] = {"version": base.get("version"), "macro_f1": rep["macro_f1"]}
    out["eval"] = {k.split(":", 1)[1]: v["macro_f1"] for k, v in m.items()
                   if k.startswith("eval:") and isinstance(v, dict) and "macro_f1" in v}
    return out


# --- runs: executing ----------------------------------------------------------------------

class _Progress:
    """Writes stage and progress to the row (its own short transactions, at most every
    half second unless the stage changes); aborts the run once the row is no longer
    running."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int,
                 min_interval: float = 0.5) -> None:
        self.sessions, self.run_id, self.min_interval = sessions, run_id, min_interval
        self.stage: str | None = None
        self.value = 0.0
        self.written_at = 0.0

    def __call__(self, stage: str, fraction: float = 0.0, message: str | None = None) -> None:
        lo, hi = STAGES.get(stage, (self.value, self.value))
        value = max(self.value, lo + (hi - lo) * min(1.0, max(0.0, fraction)))
        now = time.monotonic()
        changed = stage != self.stage
        self.value = value
        if not changed and message is None and now - self.written_at < self.min_interval:
            return
        if changed:
            log.info("run %s: %s (%.0f %%)", self.run_id, stage, 100 * value)
        self.stage, self.written_at = stage, now
        values: dict[str, Any] = {"stage": stage, "progress": round(value, 4)}
        if message is not None:
            values["message"] = message[:1000]
        with self.sessions() as s:
            done = s.execute(update(TrainingRun).where(
                TrainingRun.id == self.run_id, TrainingRun.status == RUNNING).values(**values)
                .execution_options(synchronize_session=False)).rowcount
            s.commit()
        if done != 1:
            raise _Aborted(f"run {self.run_id} is no longer running")


class _Heartbeat:
    """Keeps the run's heartbeat key alive from a thread (training itself may sit in one
    scikit-learn call for a minute)."""

    def __init__(self, client: Any, run_id: int) -> None:
        self.client, self.key = client, heartbeat_key(run_id)
        self.interval = heartbeat_interval()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="retrain-heartbeat",
                                       daemon=True)

    def _touch(self) -> None:
        try:
            self.client.set(self.key, str(time.time()), ex=max(1, round(3 * self.interval)))
        except Exception:  # noqa: BLE001 - without Redis, only the time limit applies
            log.warning("retraining heartbeat: Redis unavailable", exc_info=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            self._touch()

    def __enter__(self) -> _Heartbeat:
        if self.client is not None:
            self._touch()
            self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        if self.client is not None:
            self.thread.join(5)
            with contextlib.suppress(Exception):
                self.client.delete(self.key)


def lower_priority() -> None:
    """Training yields the CPU to the intake and the moderation workers: a higher nice
    value (VIMOD_TRAINING_NICE, default 10) for this process, once."""
    want = int(_env_float("VIMOD_TRAINING_NICE", 10))
    with contextlib.suppress(OSError, AttributeError):
        current = os.nice(0)
        if current < want:
            os.nice(want - current)


def execute_run(sessions: sessionmaker[Session], run_id: int, *, redis_client: Any = None,
                registry_root: str | os.PathLike | None = None) -> bool:
    """Claim the queued run and train it; False if it was not queued (already claimed by
    an earlier delivery, or marked failed). Errors end as a failed run, not an exception."""
    with sessions() as s:
        claimed = s.execute(
            update(TrainingRun).where(TrainingRun.id == run_id, TrainingRun.status == QUEUED)
            .values(status=RUNNING, started_at=utcnow(), stage="loading", progress=0.0)
            .execution_options(synchronize_session=False)).rowcount
        s.commit()
    if claimed != 1:
        log.info("retraining run %s is not queued: nothing to do", run_id)
        return False
    progress = _Progress(sessions, run_id)
    try:
        from threadpoolctl import threadpool_limits

        # One core for training: the other stays with the intake and the workers.
        with _Heartbeat(redis_client, run_id), threadpool_limits(1):
            _train_run(sessions, run_id, progress, registry_root)
    except _Aborted as e:
        log.warning("retraining run %s stopped: %s", run_id, e)
    except Exception as e:  # noqa: BLE001 - any failure is the run's result
        log.exception("retraining run %s failed", run_id)
        text = str(e) if isinstance(e, RetrainError | ValueError) else f"{type(e).__name__}: {e}"
        with sessions() as s:
            mark_failed(s, run_id, text, (RUNNING,))
    return True


def _train_run(sessions: sessionmaker[Session], run_id: int, progress: _Progress,
               registry_root: str | os.PathLike | None) -> None:
    from models.classifier.model import Classifier
    from models.classifier.registry import Registry
    from models.classifier.train import TrainParams, train

    t0 = time.monotonic()
    with sessions() as s:
        options = RetrainOptions.from_params(s.get(TrainingRun, run_id).params)
    options.check()
    recipe = load_recipe(options.recipe, options.base_data)
    progress("loading", 0.1, "reading the decisions and the base data")
    with sessions() as s:     # closed before training: no transaction stays open
        data = gather(s, options, recipe)
    ds = data.dataset
    summary = data.summary
    mode = training_mode(summary)
    if mode != "full" and not options.decisions_only:
        raise RetrainError("base data missing in " + str(recipe.data_dir) + ": " + ", ".join(
            os.path.basename(p) for p in summary["base"]["missing_train"])
            + " (not trained: the run did not choose to train without them)")
    active_labels: list[str] = []
    with contextlib.suppress(KeyError, OSError, ValueError):
        reg = Registry(registry_root)
        active_labels = list(reg.info(reg.active_version()).get("labels") or [])
    lacking = [y for y in active_labels if y not in set(ds.labels)]
    if lacking and not options.allow_missing_labels:
        raise RetrainError("the new model would not know the label(s) " + ", ".join(lacking)
                           + " that the active model has (not trained: the run did not "
                           "accept losing them)")
    summary["mode"] = mode
    summary["lacking_labels"] = lacking
    if len(set(ds.labels)) < 2:
        raise RetrainError(f"nothing to learn from: {len(ds)} examples, labels "
                           f"{ds.label_counts() or 'none'} (at least two labels are needed)")
    progress("loading", 1.0, f"training on {len(ds)} examples ({summary['base']['rows']} "
             f"base, {summary['decisions']['trained']} decisions, "
             f"{summary['imports']['trained']} imports); {len(data.held_out)} decisions "
             "held out")

    known = {f.name for f in fields(TrainParams)}
    overrides = {k: v for k, v in recipe.params.items() if k in known}
    if options.C is not None:
        overrides["C"] = options.C
    params = TrainParams(**overrides)
    clf, metrics = train(ds, params, progress=lambda m: log.info("run %s: %s", run_id, m),
                         on_stage=progress)

    progress("evaluation", 0.0)
    if data.held_out:
        texts = [t for t, _ in data.held_out]
        gold = [y for _, y in data.held_out]
        metrics["held_out"] = evaluate_labels(gold, clf.predict(texts), clf.labels)
        registry = Registry(registry_root)
        active = registry.active_version()
        try:
            old = Classifier.load(registry.path_of(active), version=active)
            metrics["baseline"] = {"version": active, "held_out": evaluate_labels(
                gold, old.predict(texts), old.labels)}
        except (KeyError, OSError, ValueError) as e:
            log.warning("run %s: active model %s not evaluated: %s", run_id, active, e)
    for i, (name, ev) in enumerate(data.evals):
        progress("evaluation", (i + 1) / (len(data.evals) + 1))
        metrics[f"eval:{name}"] = evaluate_labels(ev.labels, clf.predict(ev.texts), clf.labels)

    progress("registering", 0.0)
    clf.meta["command"] = f"vimod model retrain (training run {run_id})"
    clf.meta["recipe"] = f"{recipe.name} v{recipe.version}"
    clf.meta["training_mode"] = mode
    if lacking:
        clf.meta["lacking_labels"] = lacking
    data_summary = {**summary, "files": summary["base"]["files"], "notes": data.notes,
                    "retrain_options": options.to_params()}
    with tempfile.TemporaryDirectory(prefix="vimod-retrain-") as tmp:
        clf.save(tmp, metrics=metrics, data_summary=data_summary)
        version = Registry(registry_root).register(tmp)
    seconds = round(time.monotonic() - t0, 1)
    message = (f"registered {version} in {seconds:.0f} s: {len(ds)} examples, "
               f"{len(data.held_out)} decisions held out")
    if data.notes:
        message += "; " + "; ".join(data.notes)
    row_metrics = {**metrics, "data": summary, "notes": data.notes, "seconds": seconds}
    with sessions() as s:
        done = s.execute(update(TrainingRun).where(
            TrainingRun.id == run_id, TrainingRun.status == RUNNING).values(
            status=SUCCEEDED, stage="done", progress=1.0, version=version, metrics=row_metrics,
            message=message[:1000], finished_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        s.commit()
    if done != 1:   # marked failed meanwhile (stale): the version stays, unpromoted
        log.warning("run %s finished as %s but is no longer running", run_id, version)
    else:
        log.info("run %s: %s", run_id, message)
