"""Admin console: banned and suspect word lists, global and per site — list and search, add,
remove, import and export (one entry per line), switch a shipped entry off (everywhere or
on one site) and on again, and a box that shows what a text would match. Storage and the
matcher's normal form: service/wordlists.py, models/wordlists.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models.normalize import normalize, strip_marks
from models.wordlists import BANNED, SUSPECT, WordMatcher, builtin_entries, likely_reading
from service import db
from service import wordlists as lists
from service.admin import audit, bp, section
from service.errors import APIError
from service.params import parse_id, parse_page
from service.review import highlight
from service.storage import ShippedEntryOff, Site, User, WordListEntry
from service.storage.tables import utcnow

section("admin.wordlists", _l("Word lists"))

KIND_LABELS = {BANNED: _l("Banned"), SUSPECT: _l("Suspect")}
PHRASE_ERRORS = {
    "multiline": _l("An entry must be one line of text."),
    "empty": _l("Enter a word or phrase (letters, not only punctuation)."),
    "too_long": _l("An entry may have at most %(num)d characters.",
                   num=lists.MAX_PHRASE_LENGTH),
    "unknown_list": _l("Unknown list: choose banned or suspect."),
}
SOURCE_LABELS = {"builtin": _l("Shipped list"), "global": _l("Global list")}
PAGE_SIZE = 100
MAX_TEST_LENGTH = 10000


@dataclass(frozen=True)
class Scope:
    site: Site | None  # None: the global lists

    @property
    def site_id(self) -> int | None:
        return self.site.id if self.site else None

    @property
    def arg(self) -> str:
        return str(self.site.id) if self.site else ""


def _scope(raw: str | None) -> Scope:
    """`site` from the query or form: empty for the global lists, else a site's id."""
    raw = (raw or "").strip()
    if raw in ("", "global"):
        return Scope(None)
    site_id = parse_id(raw)
    if site_id is None:
        raise APIError(400, _("The site must be given by its number."), fields={"site": raw[:50]})
    site = db.session().get(Site, site_id)
    if site is None:
        abort(404)
    return Scope(site)


def _kind(raw: str | None) -> str:
    kind = raw or BANNED
    if kind not in lists.KINDS:
        raise APIError(400, str(PHRASE_ERRORS["unknown_list"]), fields={"kind": kind[:50]})
    return kind


def _matches_search(entry: WordListEntry, needle: str) -> bool:
    return needle in entry.phrase or strip_marks(needle) in strip_marks(entry.phrase)


def _page(scope: Scope, kind: str, status: int = 200, **extra: Any):  # noqa: ANN202
    session = db.session()
    q = (request.args.get("q") or "").strip()[:200]
    page = parse_page(request.args.get("page"))
    everything = lists.scope_entries(session, scope.site_id)
    counts = {k: sum(1 for e in everything if e.kind == k) for k in lists.KINDS}
    entries = [e for e in everything if e.kind == kind]
    needle = normalize(q).lower()
    shipped: list[str] = []
    if needle:
        entries = [e for e in entries if _matches_search(e, needle)]
        shipped = [e.phrase for e in builtin_entries()
                   if e.kind == kind and (needle in e.phrase.lower()
                                          or strip_marks(needle) in strip_marks(e.phrase))]
    total = len(entries)
    entries = entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    off_rows = [r for r in lists.switched_off(session, scope.site_id) if r.kind == kind]
    off = {r.phrase: r for r in off_rows}
    author_ids = {e.created_by for e in entries if e.created_by}
    author_ids |= {r.created_by for r in off_rows if r.created_by}
    authors = dict(session.execute(select(User.id, User.username).where(
        User.id.in_(author_ids))).tuples().all()) if author_ids else {}
    return render_template(
        "admin/wordlists/index.html", scope=scope, kind=kind, kinds=KIND_LABELS,
        sites=list(session.scalars(select(Site).order_by(Site.name, Site.id))),
        entries=entries, total=total, counts=counts, authors=authors, q=q, page=page,
        has_next=page * PAGE_SIZE < total, shipped=shipped, off_rows=off_rows, off=off,
        shipped_count=sum(1 for e in builtin_entries() if e.kind == kind),
        max_test_length=MAX_TEST_LENGTH, source_labels=SOURCE_LABELS,
        **extra,
    ), status


def _back(scope: Scope, kind: str):  # noqa: ANN202
    return redirect(url_for("admin.wordlists", site=scope.arg or None, kind=kind))


def _changed() -> None:
    lists.bump_generation(current_app.extensions["vimod.redis"])


def _scope_details(scope: Scope, kind: str) -> dict[str, Any]:
    return {"site_id": scope.site_id, "kind": kind}


@bp.get("/wordlists")
def wordlists():  # noqa: ANN201
    return _page(_scope(request.args.get("site")), _kind(request.args.get("kind")))


@bp.post("/wordlists/add")
def wordlists_add():  # noqa: ANN201
    scope, kind = _scope(request.form.get("site")), _kind(request.form.get("kind"))
    raw = request.form.get("phrase", "")
    loose = bool(request.form.get("accent_insensitive"))
    session = db.session()
    try:
        entry = lists.add_entry(session, scope.site_id, kind, raw, loose, current_user.id)
        audit("word.add", "word", entry.id, {**_scope_details(scope, kind),
                                              "phrase": entry.phrase, "accent_insensitive": loose})
        session.commit()
    except lists.PhraseError as exc:
        session.rollback()
        return _page(scope, kind, 400, add_error=PHRASE_ERRORS[exc.code], phrase=raw[:500],
                     accent_insensitive=loose)
    except (lists.DuplicateEntry, IntegrityError) as exc:
        session.rollback()
        existing = exc.existing if isinstance(exc, lists.DuplicateEntry) else None
        message = (_("“%(phrase)s” is already listed here (%(list)s).",
                     phrase=existing.phrase, list=KIND_LABELS[existing.kind])
                   if existing else _("This entry already exists."))
        return _page(scope, kind, 409, add_error=message, phrase=raw[:500],
                     accent_insensitive=loose)
    _changed()
    if entry.phrase != raw.strip():
        flash(_("Added “%(phrase)s” (as the matcher reads it).", phrase=entry.phrase), "ok")
    else:
        flash(_("Added “%(phrase)s”.", phrase=entry.phrase), "ok")
    return _back(scope, kind)


@bp.post("/wordlists/<int:entry_id>/remove")
def wordlists_remove(entry_id: int):  # noqa: ANN201
    session = db.session()
    entry = session.get(WordListEntry, entry_id)
    if entry is None:
        abort(404)
    scope = Scope(session.get(Site, entry.site_id) if entry.site_id else None)
    kind = entry.kind
    audit("word.remove", "word", entry.id, {**_scope_details(scope, kind),
                                            "phrase": entry.phrase,
                                            "accent_insensitive": entry.accent_insensitive})
    session.delete(entry)
    session.commit()
    _changed()
    flash(_("Removed “%(phrase)s”.", phrase=entry.phrase), "ok")
    return _back(scope, kind)


@bp.post("/wordlists/shipped/off")
def wordlists_switch_off():  # noqa: ANN201
    """Switch a shipped entry off for the page's scope: every site (global) or one site."""
    scope, kind = _scope(request.form.get("site")), _kind(request.form.get("kind"))
    phrase = request.form.get("phrase", "")
    session = db.session()
    try:
        row = lists.switch_off(session, scope.site_id, kind, phrase, current_user.id)
    except lists.NotShipped:
        session.rollback()
        flash(_("No shipped entry “%(phrase)s” on this list.", phrase=phrase[:200]), "error")
        return _back(scope, kind)
    if row is None:
        flash(_("“%(phrase)s” is already switched off here.", phrase=phrase), "ok")
        return _back(scope, kind)
    audit("word.switch_off", "word", f"shipped:{row.id}",
          {**_scope_details(scope, kind), "phrase": phrase, "shipped": True})
    try:
        session.commit()
    except IntegrityError:  # the same switch-off made at the same moment by someone else
        session.rollback()
        flash(_("“%(phrase)s” is already switched off here.", phrase=phrase), "ok")
        return _back(scope, kind)
    _changed()
    flash(_("Switched off the shipped entry “%(phrase)s” (%(where)s).", phrase=phrase,
            where=scope.site.name if scope.site else _("all sites")), "ok")
    return _back(scope, kind)


@bp.post("/wordlists/shipped/<int:off_id>/on")
def wordlists_switch_on(off_id: int):  # noqa: ANN201
    session = db.session()
    row = session.get(ShippedEntryOff, off_id)
    if row is None:
        abort(404)
    scope = Scope(session.get(Site, row.site_id) if row.site_id else None)
    kind, phrase = row.kind, row.phrase
    audit("word.switch_on", "word", f"shipped:{row.id}",
          {**_scope_details(scope, kind), "phrase": phrase, "shipped": True})
    session.delete(row)
    session.commit()
    _changed()
    flash(_("Switched the shipped entry “%(phrase)s” back on.", phrase=phrase), "ok")
    return _back(scope, kind)


def _import_text() -> str | None:
    """The uploaded file if one was chosen, else the text box; None: not UTF-8."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
    return request.form.get("text", "")


@bp.post("/wordlists/import")
def wordlists_import():  # noqa: ANN201
    scope, kind = _scope(request.form.get("site")), _kind(request.form.get("kind"))
    loose = bool(request.form.get("accent_insensitive"))
    text = _import_text()
    if text is None:
        return _page(scope, kind, 400, import_error=_("The file is not UTF-8 text."))
    if not lists.parse_lines(text):
        return _page(scope, kind, 400,
                     import_error=_("Nothing to import: give one entry per line."))
    session = db.session()
    report = lists.import_lines(session, scope.site_id, kind, text, loose, current_user.id)
    if report.added:
        audit("word.import", "word", None, {**_scope_details(scope, kind),
                                            "added": report.added,
                                            "duplicates": len(report.duplicates),
                                            "invalid": len(report.invalid)})
    session.commit()
    if report.added:
        _changed()
    flash(_("Imported %(added)d entries; skipped %(duplicates)d already listed and "
            "%(invalid)d invalid lines.", added=len(report.added),
            duplicates=len(report.duplicates), invalid=len(report.invalid)), "ok")
    return _back(scope, kind)


@bp.get("/wordlists/export")
def wordlists_export():  # noqa: ANN201
    scope, kind = _scope(request.args.get("site")), _kind(request.args.get("kind"))
    entries = lists.scope_entries(db.session(), scope.site_id, kind)
    where = scope.site.name if scope.site else "global"
    header = (f"vimod {kind} list, {where}, exported {utcnow():%Y-%m-%d %H:%M} UTC\n"
              f"one entry per line; {lists.ACCENT_INSENSITIVE_MARK} before an entry: "
              "matched with or without diacritics")
    body = lists.export_text(entries, header.replace("\r", " "))
    name = f"vimod-{kind}-{('site-' + scope.arg) if scope.site else 'global'}.txt"
    return current_app.response_class(
        body.encode("utf-8"), mimetype="text/plain", content_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@dataclass(frozen=True)
class Found:
    text: str
    phrase: str
    kind: str
    source: str
    accent_insensitive: bool


@bp.post("/wordlists/test")
def wordlists_test():  # noqa: ANN201
    scope, kind = _scope(request.form.get("site")), _kind(request.form.get("kind"))
    raw = request.form.get("text", "")
    if not raw.strip():
        return _page(scope, kind, 400, test_error=_("Type a text to test."), test_text=raw)
    if len(raw) > MAX_TEST_LENGTH:
        return _page(scope, kind, 400, test_text=raw[:MAX_TEST_LENGTH], test_error=_(
            "The text is too long (at most %(num)d characters).", num=MAX_TEST_LENGTH))
    # The worker matches the normalized text: so does the box, with the very same entries.
    text = normalize(raw)
    matcher = WordMatcher(lists.entries_for(db.session(), scope.site_id))
    # Unmarked text read two ways, as in the worker (models/wordlists.py).
    matches, dismissed = matcher.find_all(text, lambda: likely_reading(text))
    spans = [{"start": m.start, "end": m.end, "kind": m.entry.kind} for m in matches]
    site_label = scope.site.name if scope.site else ""
    found = [Found(m.text, m.entry.phrase, m.entry.kind,
                   site_label if m.entry.source == "site" else str(SOURCE_LABELS.get(
                       m.entry.source, m.entry.source)), m.entry.accent_insensitive)
             for m in matches]
    return _page(scope, kind, test_text=raw, test_segments=highlight(text, spans),
                 test_found=found, test_normalized=text if text != raw else None,
                 test_dismissed=dismissed)
