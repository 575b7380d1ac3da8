"""Admin console: the training data. Every moderator decision is a labelled example with its
provenance; admins filter the list, relabel or exclude examples (one or a selection), import
labelled texts (CSV / JSON lines), export exactly what retraining will use, and see the
shipped base data retraining starts from. The list and its corrections:
service/training_examples.py; the upload parser: service/training_import.py."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models.classifier import default_model_dir
from models.classifier.recipe import RECIPE_PATH, base_data_dir
from service import db
from service import training_examples as examples
from service import training_import as uploads
from service.admin import audit, bp, section
from service.auth import safe_next
from service.errors import APIError
from service.form_text import text_error
from service.moderation import REJECT_REASONS
from service.params import parse_id, parse_int
from service.review import VIETNAM
from service.storage import Site, TrainingExample
from service.storage.tables import utcnow
from service.training_labels import training_set, write_examples_csv, write_examples_jsonl

section("admin.training_data", _l("Training data"))

PAGE_SIZE = 50
MAX_SELECTION = 200
IMPORT_MAX_BYTES = 10 * 1024 * 1024      # TRAINING_IMPORT_MAX_BYTES overrides it
SHOWN_PROBLEMS = 100
EXPORT_CHUNK = 500

LABEL_NAMES = {"clean": _l("clean"), "spam": _l("spam"), "offensive": _l("offensive"),
               "hate": _l("hate")}
SOURCE_NAMES = {"decision": _l("Moderator decision"), "import": _l("Imported")}
PROBLEMS = {
    "not_utf8": _l("The file is not UTF-8 text."),
    "empty": _l("The file has no rows."),
    "missing_column": _l("Column(s) %(columns)s not found; the header has: %(header)s."),
    "bad_csv": _l("Not valid CSV: %(error)s."),
    "bad_json": _l("Not valid JSON: %(error)s."),
    "not_object": _l("Each line must be a JSON object."),
    "missing_value": _l("The text or the label is missing."),
    "not_text": _l("The text and the label must be strings."),
    "empty_text": _l("The text is empty."),
    "bad_label": _l("Label “%(label)s” is not one of clean, spam, offensive, hate."),
    "too_long": _l("The text is longer than %(max)s characters."),
    "bad_character": _l("The text contains a character that cannot be stored."),
}


@bp.before_app_request
def _upload_limit() -> None:
    # Runs before CSRFProtect parses the form (registered earlier, see create_app), so the
    # import's upload is allowed beyond the API's small MAX_CONTENT_LENGTH.
    # Only for a signed-in admin: nobody else gets the server to read a large body.
    if (request.endpoint == "admin.training_data_import" and current_user.is_authenticated
            and current_user.is_admin):
        request.max_content_length = _import_limit() + 64 * 1024


def _import_limit() -> int:
    return int(current_app.config.get("TRAINING_IMPORT_MAX_BYTES", IMPORT_MAX_BYTES))


def _bad(message: str) -> APIError:
    return APIError(400, message)


# --- filters --------------------------------------------------------------------------------

def _site_arg(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    site_id = parse_id(raw)
    if site_id is None:
        raise _bad(_("Unknown site."))
    if db.session().get(Site, site_id) is None:
        abort(404)
    return site_id


def _date_arg(name: str) -> date | None:
    """A date as Vietnamese write it, dd/mm/yyyy (the form's fields), or YYYY-MM-DD (links,
    scripts); None otherwise (the caller refuses a non-empty value that is not one). Years
    stay well inside datetime's range, as the day after and UTC shifts need."""
    raw = (request.args.get(name) or "").strip()
    if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw):
        raw = f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}"
    if not raw or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9000 else None


def _vn_midnight(day: date) -> datetime:
    """The start of a day in Vietnam (the dates people pick), in UTC."""
    return datetime.combine(day, time(0), VIETNAM).astimezone(UTC)


def _filter_from_args() -> examples.ExampleFilter:
    args = request.args
    label = args.get("label") or None
    if label not in (None, examples.NO_LABEL, *examples.LABELS):
        raise _bad(_("Unknown label."))
    source = args.get("source") or None
    if source not in (None, *examples.SOURCES):
        raise _bad(_("Unknown source."))
    excluded_arg = args.get("excluded", "")
    if excluded_arg not in ("", "yes", "no"):
        raise _bad(_("Excluded must be yes or no."))
    since, until = _date_arg("from"), _date_arg("to")
    for name, value in (("from", since), ("to", until)):
        if args.get(name, "").strip() and value is None:
            raise _bad(_("Dates are written dd/mm/yyyy."))
    if since and until and since > until:
        raise _bad(_("The start date is after the end date."))
    return examples.ExampleFilter(
        site_id=_site_arg(args.get("site")), label=label,
        moderator=(args.get("moderator") or "").strip()[:100] or None, source=source,
        excluded=None if not excluded_arg else excluded_arg == "yes",
        since=_vn_midnight(since) if since else None,
        until=_vn_midnight(until + timedelta(days=1)) if until else None,
        q=(args.get("q") or "").strip()[:200] or None,
        file=(args.get("file") or "").strip()[:200] or None)


def _link_args() -> dict[str, str]:
    keep = ("site", "label", "moderator", "source", "excluded", "from", "to", "q", "file")
    return {k: request.args[k] for k in keep if request.args.get(k)}


# --- the page -------------------------------------------------------------------------------

@bp.get("/training")
def training_data():  # noqa: ANN201
    return _page()


def _page(status: int = 200, **extra: Any):  # noqa: ANN202
    session = db.session()
    f = _filter_from_args()
    raw_page = request.args.get("page", "1")
    number = parse_int(raw_page, 1, 10**6)
    if number is None:
        raise _bad(_("Unknown page."))
    counts = examples.counts(session, f)
    total = counts.matching(f)
    rows = examples.page(session, f, number, PAGE_SIZE) if total else []
    sites = list(session.scalars(select(Site).order_by(Site.name)))
    return render_template(
        "admin/training_data/index.html", rows=rows, counts=counts, total=total,
        page=number, pages=max(1, -(-total // PAGE_SIZE)), filters=request.args,
        link_args=_link_args(), sites=sites, site_names={s.id: s.name for s in sites},
        moderators=examples.moderators(session), labels=examples.LABELS,
        label_names=LABEL_NAMES, source_names=SOURCE_NAMES, reasons=REJECT_REASONS,
        imports=examples.imports(session), base=base_data(),
        import_limit_mb=round(_import_limit() / 1024 / 1024, 1),
        no_label=examples.NO_LABEL, **extra), status


# --- corrections ----------------------------------------------------------------------------

_OPS = {"relabel:" + label: ("relabel", label) for label in examples.LABELS} | {
    op: (op, None) for op in ("exclude", "include", "clear")}


@bp.post("/training/apply")
def training_data_apply():  # noqa: ANN201
    """Relabel, exclude, include or clear one row (its own button: ``row=<op>@<key>``) or the
    checked ones (``op`` and ``keys``). Every change is one audit row, committed with it."""
    back = safe_next(request.form.get("back") or url_for("admin.training_data"))
    if row := request.form.get("row"):
        op_name, _sep, key = row.partition("@")
        raw_keys = [key]
    else:
        op_name, raw_keys = request.form.get("op", ""), request.form.getlist("keys")
    if op_name not in _OPS:
        flash(_("Choose what to do with the examples."), "error")
        return redirect(back, 303)
    try:
        keys = examples.parse_keys(raw_keys)
    except ValueError:
        flash(_("Unknown example."), "error")
        return redirect(back, 303)
    if not keys:
        flash(_("Select at least one example."), "error")
        return redirect(back, 303)
    if len(keys) > MAX_SELECTION:
        flash(_("Select at most %(num)d examples at a time.", num=MAX_SELECTION), "error")
        return redirect(back, 303)
    note = (request.form.get("note") or "").strip() or None
    if note and (error := text_error(note, one_line=True, max_length=500)):
        flash(error, "error")
        return redirect(back, 303)
    op, label = _OPS[op_name]
    session = db.session()
    try:
        changes, skipped = examples.apply(session, op, keys, current_user.id, label, note)
        for change in changes:
            details: dict[str, Any] = {"before": change.before, "after": change.after}
            if note:
                details["note"] = note
            audit(f"training.{op}", change.target_type, change.target_id, details)
        session.commit()
    except examples.UnknownExample:
        session.rollback()
        abort(404)
    except IntegrityError:  # another admin created the same override at the same moment
        session.rollback()
        flash(_("This was changed in the meantime. Reload the page and try again."), "error")
        return redirect(back, 303)
    message = _("%(num)d example(s) changed.", num=len(changes))
    if skipped:
        message += " " + _("%(num)d left as they were.", num=skipped)
    flash(message, "ok")
    return redirect(back)


@bp.post("/training/imports")
def training_data_imports():  # noqa: ANN201
    """Exclude (or include again) every row of one imported file."""
    back = url_for("admin.training_data")
    excluded = {"exclude": True, "include": False}.get(request.form.get("op", ""))
    file = (request.form.get("file") or "").strip()
    if excluded is None or not file or text_error(file, one_line=True):
        flash(_("Choose what to do with the examples."), "error")
        return redirect(back, 303)
    site_id = _site_arg(request.form.get("site"))
    session = db.session()
    changed = examples.set_import_excluded(session, file, site_id, excluded)
    if changed:
        audit("training.import_" + ("exclude" if excluded else "include"), "training_example",
              None, {"file": file, "site_id": site_id, "rows": changed})
    session.commit()
    flash(_("%(num)d example(s) changed.", num=changed), "ok")
    return redirect(back)


# --- export ---------------------------------------------------------------------------------

@bp.get("/training/export")
def training_data_export():  # noqa: ANN201
    """The effective training set (training_set(): what retraining uses beside the base
    data), streamed; ``site`` and ``from`` narrow it as retraining's options do."""
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise _bad(_("Choose CSV or JSONL."))
    site_id = _site_arg(request.args.get("site"))
    since = _date_arg("from")
    if request.args.get("from", "").strip() and since is None:
        raise _bad(_("Dates are written dd/mm/yyyy."))

    def chunks() -> Iterator[str]:
        # The view's contexts are torn down (its session closed) before the body streams;
        # stream_with_context pushes them again around this generator, so the session is
        # opened here, and closed by that second teardown.
        rows = training_set(db.session(), site_id=site_id,
                            since=_vn_midnight(since) if since else None)
        first = True
        while batch := list(islice(rows, EXPORT_CHUNK)):
            buf = io.StringIO(newline="")
            if fmt == "csv":
                write_examples_csv(batch, buf, header=first)
            else:
                write_examples_jsonl(batch, buf)
            first = False
            yield buf.getvalue()
        if first and fmt == "csv":
            buf = io.StringIO(newline="")
            write_examples_csv([], buf)
            yield buf.getvalue()

    name = f"vimod-training-{utcnow().astimezone(VIETNAM):%Y%m%d-%H%M}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(stream_with_context(chunks()), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- import ---------------------------------------------------------------------------------

@bp.post("/training/import")
def training_data_import():  # noqa: ANN201
    form = request.form
    upload = request.files.get("file")
    name = uploads.file_name(upload.filename if upload else None)
    if upload is None or not name:
        return _import_refused(_("Choose a file to import."))
    fmt = uploads.detect_format(name, form.get("format", "auto"))
    if fmt is None:
        return _import_refused(_("Choose the file's format: CSV or JSONL."))
    text_column = (form.get("text_column") or "text").strip()
    label_column = (form.get("label_column") or "label").strip()
    if not (0 < len(text_column) <= 100 and 0 < len(label_column) <= 100):
        return _import_refused(_("Column names are 1 to 100 characters."))
    site_id = _site_arg(form.get("site"))
    data = upload.stream.read(_import_limit() + 1)
    if len(data) > _import_limit():
        return _import_refused(_("The file is larger than %(mb)s MB.",
                                 mb=round(_import_limit() / 1024 / 1024, 1)), 413)
    parsed = uploads.parse(data, fmt, text_column, label_column)
    if parsed.malformed is not None:
        return _import_refused(_("Nothing was imported: the file could not be read."),
                               problems=[parsed.malformed])
    skip_bad = bool(form.get("skip_bad"))
    if parsed.bad and not skip_bad:
        return _import_refused(_("Nothing was imported: %(num)d row(s) are not usable. Fix "
                                 "them, or import the other rows and skip these.",
                                 num=len(parsed.bad)), problems=parsed.bad)
    if not parsed.rows:
        return _import_refused(_("Nothing was imported: no usable rows."), problems=parsed.bad)
    session = db.session()
    now = utcnow()
    for start in range(0, len(parsed.rows), 1000):
        session.execute(insert(TrainingExample), [
            {"text": r.text, "label": r.label, "source": name, "site_id": site_id,
             "excluded": False, "created_at": now, "created_by": current_user.id}
            for r in parsed.rows[start:start + 1000]])
    labels = Counter(r.label for r in parsed.rows)
    audit("training.import", "training_example", None, {
        "file": name, "site_id": site_id, "format": fmt, "rows": len(parsed.rows),
        "labels": dict(sorted(labels.items())), "skipped_lines": [p.line for p in parsed.bad]})
    session.commit()
    flash(_("Imported %(num)d example(s) from %(file)s.", num=len(parsed.rows), file=name)
          + (" " + _("%(num)d row(s) skipped.", num=len(parsed.bad)) if parsed.bad else ""),
          "ok")
    return redirect(url_for("admin.training_data", source="import"))


def _import_refused(message: str, status: int = 400,
                    problems: list[uploads.Problem] | None = None):  # noqa: ANN202
    problems = problems or []
    shown = [(p.line, PROBLEMS[p.code] % p.values if p.values else PROBLEMS[p.code])
             for p in problems[:SHOWN_PROBLEMS]]
    sites = list(db.session().scalars(select(Site).order_by(Site.name)))
    return render_template("admin/training_data/import_refused.html", message=message,
                           problems=shown, more=max(0, len(problems) - SHOWN_PROBLEMS),
                           form=request.form, sites=sites), status


# --- base data ------------------------------------------------------------------------------

def base_data() -> dict[str, Any]:
    """The shipped training sets retraining starts from (the base recipe,
    models/classifier/base_recipe.json), with the rows and labels the default model used
    from each (its data.json) and their terms (DATA.md), and whether each is on this
    machine."""
    recipe = json.loads(RECIPE_PATH.read_text("utf-8"))
    model_dir = default_model_dir()
    summary = json.loads((model_dir / "data.json").read_text("utf-8"))
    used = {f["file"]: f for f in summary.get("files", [])}
    terms = _terms(model_dir.parent / "DATA.md")
    files = []
    for entry in recipe.get("train", []):
        root = base_data_dir() if entry.get("in", "base") == "base" else RECIPE_PATH.parent
        path = root / entry["path"]
        stats = used.get(path.name, {})
        about, licence = terms.get(path.name, ("", ""))
        files.append({"file": path.name, "path": str(path), "present": path.is_file(),
                      "shipped": entry.get("in") == "package", "about": about,
                      "rows": stats.get("used"), "labels": stats.get("used_labels") or {},
                      "label_map": entry.get("label_map"), "weight": entry.get("weight", 1.0),
                      "terms": licence})
    return {"files": files, "total": summary.get("total"), "labels": summary.get("labels", {}),
            "data_dir": str(base_data_dir())}


_TABLE_ROW = re.compile(r"^\|\s*`([^`]+)`\s*(\(([^)]*)\))?[^|]*\|(.*)\|\s*$")


def _terms(data_md: Any) -> dict[str, tuple[str, str]]:
    """file name → (dataset, terms) from DATA.md's table of the shipped model's files."""
    out: dict[str, tuple[str, str]] = {}
    try:
        text = data_md.read_text("utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        if m := _TABLE_ROW.match(line.strip()):
            cells = [c.strip() for c in m.group(4).split("|")]
            name = m.group(1).rsplit("/", 1)[-1]
            out.setdefault(name, (m.group(3) or "", cells[-1] if cells else ""))
    return out
