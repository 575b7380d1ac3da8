"""Retraining in the admin console (/admin/retrain): the button that starts a run on the
training queue, the current run's stage and progress (service/static/retrain.js polls
/admin/retrain/runs/<id>.json), and the history of runs with their versions and figures.
The work itself is service/retraining.py."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from service import db, retraining
from service.admin import audit, bp, section
from service.model_compare import MIN_EXAMPLES_PER_LABEL
from service.params import parse_id
from service.queueing import enqueue_retrain
from service.review_labels import category_label
from service.storage import TrainingRun, User

section("admin.retrain", _l("Retraining"))

HISTORY = 50

STAGE_LABELS = {
    "queued": _l("Waiting for the training worker"),
    "loading": _l("Loading the data"),
    "features": _l("Extracting features"),
    "cross_validation": _l("Cross-validation"),
    "calibration": _l("Calibration"),
    "final_fit": _l("Training the final model"),
    "evaluation": _l("Evaluation"),
    "registering": _l("Registering the new version"),
    "done": _l("Finished"),
}
LABEL_NAMES = {
    "clean": _l("clean"), "spam": _l("spam"), "offensive": _l("offensive"), "hate": _l("hate"),
}
STATUS_LABELS = {
    retraining.QUEUED: _l("Queued"),
    retraining.RUNNING: _l("Running"),
    retraining.SUCCEEDED: _l("Succeeded"),
    retraining.FAILED: _l("Failed"),
    "stale": _l("Stale: its worker stopped answering"),
}


def _alive():  # noqa: ANN202
    return retraining.redis_alive(current_app.extensions["vimod.redis"])


def version_url(version: str | None) -> str | None:
    # The model compare page (another area of the console); a plain link.
    return f"{url_for('admin.index')}/models/{version}" if version else None


# What the trainer writes on the run (service/retraining.py, English for the log), read
# back in the admin's language; anything else (an error's own text) is shown as written.
_MESSAGES: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"reading the decisions and the base data"),
     lambda m: _("reading the decisions and the base data")),
    (re.compile(r"training on (\d+) examples \((\d+) base, (\d+) decisions, (\d+) imports\); "
                r"(\d+) decisions held out"),
     lambda m: _("training on %(n)s examples (%(base)s base, %(decisions)s decisions, "
                 "%(imports)s imports); %(held)s decisions held out", n=m[1], base=m[2],
                 decisions=m[3], imports=m[4], held=m[5])),
    (re.compile(r"stale: no sign of its worker since (.+) UTC; a new run was started"),
     lambda m: _("stopped: no sign of its worker since %(when)s UTC; a new run was started",
                 when=m[1])),
    (re.compile(r"nothing to learn from: (\d+) examples, labels (.*) \(at least two labels "
                r"are needed\)"),
     lambda m: _("nothing to learn from: %(n)s examples, labels %(labels)s (at least two "
                 "labels are needed)", n=m[1], labels=m[2])),
]


def message_label(message: str | None) -> str:
    for pattern, words in _MESSAGES:
        if match := pattern.fullmatch(message or ""):
            return words(match)
    return message or ""


def _view(run: TrainingRun, alive: Any) -> dict[str, Any]:
    """What the page and the JSON endpoint show of a run."""
    stale = run.status in retraining.ACTIVE and retraining.is_stale(run, alive(run.id))
    status = "stale" if stale else run.status
    return {
        "id": run.id, "status": run.status, "stale": stale,
        "status_label": str(STATUS_LABELS.get(status, status)),
        "stage": run.stage, "stage_label": str(STAGE_LABELS.get(run.stage or "", run.stage or "")),
        "progress": round(run.progress or 0.0, 4), "percent": int(100 * (run.progress or 0.0)),
        "message": message_label(run.message), "version": run.version,
        "version_url": version_url(run.version),
        "finished": run.status in (retraining.SUCCEEDED, retraining.FAILED),
        "live": run.status in retraining.ACTIVE and not stale,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": (round((run.finished_at - run.started_at).total_seconds())
                    if run.finished_at and run.started_at else None),
        "headline": retraining.headline(run.metrics),
        "choices": _choices(run),
    }


def _choices(run: TrainingRun) -> list[str]:
    """The explicit choices a run was started with, and what it lacked (issue #17): shown
    on the run from the moment it is queued, not only after it finished."""
    params = run.params or {}
    data = (run.metrics or {}).get("data") or {}
    out = []
    mode = data.get("mode") if isinstance(data, dict) else None
    if mode == "decisions_only" or (mode is None and params.get("decisions_only")):
        out.append(_("Trained on the moderators' decisions and imported examples only "
                     "(the base data was missing)."))
    elif mode == "partial_base":
        out.append(_("Trained without some of the base data files (they were missing)."))
    lacking = data.get("lacking_labels") if isinstance(data, dict) else None
    if lacking:
        out.append(_("This version does not know these labels of the active model: "
                     "%(labels)s.", labels=", ".join(category_label(y) for y in lacking)))
    elif lacking is None and params.get("allow_missing_labels"):
        out.append(_("Started accepting that the new model may not know some labels of "
                     "the active model."))
    return out


def _preflight(options: retraining.RetrainOptions | None = None):  # noqa: ANN202
    try:
        return retraining.preflight(db.session(), options)
    except Exception:  # noqa: BLE001 - the page still shows; the run checks again
        current_app.logger.warning("retraining preflight failed", exc_info=True)
        return None


def _page(status: int = 200):  # noqa: ANN202
    session = db.session()
    alive = _alive()
    rows = session.execute(
        select(TrainingRun, User.username).outerjoin(User, User.id == TrainingRun.created_by)
        .order_by(TrainingRun.id.desc()).limit(HISTORY)).all()
    runs = [(run, username, _view(run, alive)) for run, username in rows]
    current = runs[0] if runs else None
    busy = next((v for _, _, v in runs if v["live"]), None)
    check = _preflight()
    return render_template("admin/retrain/index.html", runs=runs, current=current, busy=busy,
                           check=check, label_names=LABEL_NAMES,
                           basename=lambda p: str(p).replace("\\", "/").rsplit("/", 1)[-1],
                           poll_ms=current_app.config.get("RETRAIN_POLL_MS", 1500)), status


@bp.get("/retrain")
def retrain():  # noqa: ANN201
    return _page()


@bp.post("/retrain")
def retrain_start():  # noqa: ANN201
    session = db.session()
    task_id = uuid.uuid4().hex
    options = retraining.RetrainOptions(
        decisions_only=request.form.get("decisions_only") == "yes",
        allow_missing_labels=request.form.get("allow_missing_labels") == "yes")
    choices = {k: True for k in ("decisions_only", "allow_missing_labels")
               if getattr(options, k)}
    try:
        run = retraining.start_run(
            session, created_by=current_user.id, alive=_alive(), task_id=task_id,
            options=options,
            on_created=lambda r: audit("model.retrain", "training_run", r.id,
                                       {"task_id": task_id, **choices}))
    except retraining.NeedsChoice as exc:
        session.rollback()
        check = exc.check
        if check.missing_base and not check.decisions_only:
            flash(_("Not started: the base data is missing (%(n)d files). Put the files in "
                    "place, or tick \u201cTrain on the decisions and imported examples "
                    "only\u201d to train without them.", n=len(check.missing_base)), "error")
        if check.lacking and not check.allow_missing_labels:
            flash(_("Not started: the new model would not know %(labels)s, which the active "
                    "model has. Tick the box to accept this, or add examples of it.",
                    labels=", ".join(category_label(y) for y in check.lacking)),
                  "error")
        return _page(409)
    except retraining.RunInProgress as exc:
        session.rollback()
        flash(_("A retraining run is already in progress (run %(id)d); wait for it to "
                "finish.", id=exc.run.id), "error")
        return _page(409)
    try:
        enqueue_retrain(current_app.extensions["vimod.producer"], run.id, task_id)
    except Exception:  # noqa: BLE001 - any broker failure: the run cannot start
        current_app.logger.warning("retraining run %s not queued", run.id, exc_info=True)
        retraining.mark_failed(session, run.id, "the training queue (Redis) could not be "
                               "reached; the run was not queued")
        flash(_("The training queue cannot be reached; the run was not started."), "error")
        return _page(503)
    flash(_("Retraining started (run %(id)d).", id=run.id), "ok")
    return redirect(url_for("admin.retrain"), 303)


def _get_run(run_id: int) -> TrainingRun | None:
    return db.session().get(TrainingRun, run_id) if run_id < 2**31 else None


@bp.get("/retrain/runs/<int:run_id>")
def retrain_run(run_id: int):  # noqa: ANN201
    session = db.session()
    run = _get_run(run_id)
    if run is None:
        abort(404)
    username = session.scalar(select(User.username).where(User.id == run.created_by)) \
        if run.created_by else None
    held = (run.metrics or {}).get("held_out") or {}
    few = [(y, m.get("support", 0)) for y, m in (held.get("per_class") or {}).items()
           if isinstance(m, dict) and m.get("support", 0) < MIN_EXAMPLES_PER_LABEL]
    few_text = _("Too few examples to tell the models apart: fewer than %(min)d of "
                 "%(labels)s (%(detail)s).", min=MIN_EXAMPLES_PER_LABEL,
                 labels=", ".join(category_label(y) for y, _k in few),
                 detail=", ".join(f"{category_label(y)} {k}" for y, k in few)) if few else None
    return render_template("admin/retrain/run.html", run=run, username=username,
                           few_text=few_text,
                           view=_view(run, _alive()), label_names=LABEL_NAMES,
                           poll_ms=current_app.config.get("RETRAIN_POLL_MS", 1500))


@bp.get("/retrain/runs/<ref>.json")
def retrain_run_json(ref: str):  # noqa: ANN201
    run_id = parse_id(ref)
    run = _get_run(run_id) if run_id is not None else None
    if run is None:
        return jsonify(error={"code": "not_found", "message": "No such training run.",
                              "fields": {}}), 404
    return jsonify(_view(run, _alive()))
