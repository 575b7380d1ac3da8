"""Sites in the admin console: list with pending counts, create, the site page (keys, name and
origins, moderation settings, webhook, audit history), key and webhook-secret rotation.

Settings are the keys the pipeline reads from `site.settings` (workers/pipeline/policy.py,
diacritics.py, wordlists.py) and the intake reads `max_length`; decisions are sent to the
webhook URL, signed with the webhook secret (service/webhooks.py, workers/webhooks.py; the
deliveries page is service/admin/webhooks.py); the allowed origins are stored for the public
API and embeddable form. The worker loads a site's
settings with every comment and the intake's key cache is invalidated after every change
(service/api/lookups.py), so a change applies to the next comment without restart."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from service import db
from service.accounts import create_site, rotate_api_key, rotate_webhook_secret
from service.admin import audit, bp, section
from service.admin.shown_once import stash, take
from service.storage import AuditEntry, Comment, CommentStatus, Site
from service.storage.tables import DEFAULT_SITE_SETTINGS

section("admin.sites", _l("Sites"))

MAX_LENGTH_LIMIT = 20_000
MAX_ORIGINS = 50
# The classifier's risk categories (workers/pipeline/policy.py RISK_CATEGORIES).
CATEGORIES = {"spam": _l("Spam"), "offensive": _l("Offensive"), "hate": _l("Hate")}
DIACRITICS_POLICIES = {
    "flag": _l("Flag: the comment waits with a suggestion"),
    "reject": _l("Reject automatically"),
    "off": _l("Off"),
}
# What the pipeline assumes when a key is missing (policy.py), for display and audit.
POLICY_DEFAULTS: dict[str, Any] = {
    **DEFAULT_SITE_SETTINGS,
    "auto_reject": {},
    "auto_approve_below": 0.3,
    "auto_reject_banned": False,
    "webhook_url": None,
}
SECRET_SETTINGS = {"webhook_secret"}  # never in an audit row or a page after the first
SHOWN_KINDS = {"api_key": _l("New secret API key"), "webhook_secret": _l("New webhook secret")}
ACTIONS = {
    "site.create": _l("Site created"),
    "site.details": _l("Name, domain or origins changed"),
    "site.settings": _l("Settings changed"),
    "site.rotate_key": _l("Secret API key replaced"),
    "site.webhook_secret": _l("Webhook secret replaced"),
    "site.webhook_redeliver": _l("Webhook event sent again"),
    "site.webhook_test": _l("Webhook test event sent"),
    "ban.create": _l("Author banned (bans page)"),
    "ban.lift": _l("Ban lifted (bans page)"),
}
# Field names in the audit history.
FIELDS = {
    "name": _l("Name"), "domain": _l("Domain"), "allowed_origins": _l("Allowed origins"),
    "api_key_prefix": _l("API key prefix"), "max_length": _l("Maximum length"),
    "premoderation": _l("Pre-moderation"), "diacritics_policy": _l("Missing diacritics"),
    "auto_reject": _l("Auto-reject thresholds"), "auto_approve_below": _l("Auto-approve below"),
    "auto_reject_banned": _l("Banned word rejects"), "webhook_url": _l("Webhook URL"),
}
HISTORY_ROWS = 100
MAX_ID = 2**31  # integer primary keys (PostgreSQL int4)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


# --- validation: each returns the clean values and {field: message} ----------------------

def _hostname_ok(host: str) -> bool:
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(ascii_host) <= 253 and bool(_HOSTNAME.fullmatch(ascii_host))


def _origin(line: str) -> str | None:
    """"https://host[:port]" in its normal form (lower case, no slash), or None."""
    parts = urlsplit(line)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if (parts.scheme not in {"http", "https"} or parts.username or parts.password
            or parts.path not in {"", "/"} or parts.query or parts.fragment
            or not (_hostname_ok(host) or host in _LOCAL_HOSTS)):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def parse_details(form: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = _("Enter the site's name.")
    elif len(name) > 200 or _CONTROL.search(name):
        errors["name"] = _("At most 200 characters, without control characters.")
    domain = form.get("domain", "").strip().lower() or None
    if domain is not None and not _hostname_ok(domain):
        errors["domain"] = _("Enter a domain name such as baoquangninh.vn "
                             "(without https:// or a path).")
    origins: list[str] = []
    lines = [line.strip() for line in form.get("allowed_origins", "").splitlines()]
    lines = [line for line in lines if line]
    bad = [line for line in lines if _origin(line) is None]
    if len(lines) > MAX_ORIGINS:
        errors["allowed_origins"] = _("At most %(n)d origins.", n=MAX_ORIGINS)
    elif bad:
        errors["allowed_origins"] = _(
            "Not an origin: %(value)s. Write one per line as https://host or "
            "https://host:port, without a path.", value=bad[0][:100])
    else:
        for line in lines:
            if (origin := _origin(line)) not in origins:
                origins.append(origin)
    return {"name": name, "domain": domain, "allowed_origins": origins}, errors


def _number(raw: str) -> float | None:
    if len(raw) > 20:
        return None
    try:
        value = float(raw.replace(",", ".", 1))  # "0,95" as Vietnamese write it
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _webhook_url(raw: str) -> str | None:
    """An https URL, or http to this machine (for tests and local receivers); else None."""
    if len(raw) > 2000 or _CONTROL.search(raw) or any(c.isspace() for c in raw):
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.username or parts.password:
        return None
    if parts.scheme == "https" and _hostname_ok(host):
        return raw
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return raw
    return None


def parse_settings(form: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    raw = form.get("max_length", "").strip()
    if re.fullmatch(r"[0-9]{1,6}", raw) and 1 <= int(raw) <= MAX_LENGTH_LIMIT:
        out["max_length"] = int(raw)
    else:
        errors["max_length"] = _("Enter a whole number from 1 to %(max)d.", max=MAX_LENGTH_LIMIT)
    out["premoderation"] = bool(form.get("premoderation"))
    policy = form.get("diacritics_policy", "")
    if policy in DIACRITICS_POLICIES:
        out["diacritics_policy"] = policy
    else:
        errors["diacritics_policy"] = _("Choose one of the listed policies.")
    thresholds: dict[str, float] = {}
    for category in CATEGORIES:
        raw = form.get(f"auto_reject_{category}", "").strip()
        if not raw:
            continue  # empty: no automatic rejection for this category
        value = _number(raw)
        if value is None or not 0.5 <= value <= 1.0:
            errors[f"auto_reject_{category}"] = _(
                "Leave empty (off) or enter a probability from 0.5 to 1.")
        else:
            thresholds[category] = value
    out["auto_reject"] = thresholds
    value = _number(form.get("auto_approve_below", "").strip())
    if value is None or not 0.0 <= value <= 1.0:
        errors["auto_approve_below"] = _("Enter a probability from 0 to 1.")
    else:
        out["auto_approve_below"] = value
    out["auto_reject_banned"] = bool(form.get("auto_reject_banned"))
    raw = form.get("webhook_url", "").strip()
    if not raw:
        out["webhook_url"] = None
    elif (url := _webhook_url(raw)) is None:
        errors["webhook_url"] = _("Enter an https:// URL (http:// only for localhost).")
    else:
        out["webhook_url"] = url
    return out, errors


# --- what the pages show -----------------------------------------------------------------

def current_settings(site: Site) -> dict[str, Any]:
    return {key: (site.settings or {}).get(key, default)
            for key, default in POLICY_DEFAULTS.items()}


def settings_values(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings form's fields, from stored settings."""
    values: dict[str, Any] = {
        "max_length": settings["max_length"],
        "premoderation": bool(settings["premoderation"]),
        "diacritics_policy": settings["diacritics_policy"],
        "auto_approve_below": settings["auto_approve_below"],
        "auto_reject_banned": bool(settings["auto_reject_banned"]),
        "webhook_url": settings["webhook_url"] or "",
    }
    for category in CATEGORIES:
        values[f"auto_reject_{category}"] = (settings["auto_reject"] or {}).get(category, "")
    return values


def _form_values(form: MultiDict, checkboxes: tuple[str, ...] = ()) -> dict[str, Any]:
    """What was submitted, to re-render a form with its errors."""
    values: dict[str, Any] = {key: form.get(key, "") for key in form if key != "csrf_token"}
    for key in checkboxes:
        values[key] = bool(form.get(key))
    return values


def show(value: Any, labels: dict[str, Any] | None = None) -> str:
    """A value in the audit history; `labels` names its codes (a policy, a role, the
    categories of a dict's keys) in the reader's language."""
    labels = labels or {}
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(labels.get(v, v)) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{labels.get(k, k)}: {show(v)}" for k, v in value.items())
    return str(labels.get(value, value)) if isinstance(value, str) else str(value)


# The codes in a site's history, in words.
VALUE_LABELS = {"diacritics_policy": DIACRITICS_POLICIES, "auto_reject": CATEGORIES}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"before", "after"}} for the fields that differ (secrets left out)."""
    return {key: {"before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after))
            if key not in SECRET_SETTINGS and before.get(key) != after.get(key)}


def _site_or_404(site_id: int, lock: bool = False) -> Site:
    if not 0 < site_id < MAX_ID:  # beyond the column's range: no such row, not a 500
        abort(404)
    # Locked for changes: two admins saving one site's JSON settings must not interleave.
    site = db.session().get(Site, site_id, with_for_update=lock or None, populate_existing=lock)
    if site is None:
        abort(404)
    return site


def _history(site: Site) -> list[AuditEntry]:
    return list(db.session().scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == "site", AuditEntry.target_id == str(site.id))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(HISTORY_ROWS)))


def _site_page(site: Site, status: int = 200, *, details: dict[str, Any] | None = None,
               details_errors: dict[str, str] | None = None,
               settings: dict[str, Any] | None = None,
               settings_errors: dict[str, str] | None = None,
               shown: tuple[str, str] | None = None):  # noqa: ANN202
    stored = site.settings or {}
    response = current_app.make_response((render_template(
        "admin/sites/show.html",
        site=site,
        details=details or {"name": site.name, "domain": site.domain or "",
                            "allowed_origins": "\n".join(site.allowed_origins or [])},
        details_errors=details_errors or {},
        values=settings or settings_values(current_settings(site)),
        errors=settings_errors or {},
        has_webhook_secret=bool(stored.get("webhook_secret")),
        shown=shown, shown_kinds=SHOWN_KINDS,
        history=_history(site), actions=ACTIONS, fields=FIELDS, show=show,
        value_labels=VALUE_LABELS,
        categories=CATEGORIES, policies=DIACRITICS_POLICIES, max_length_limit=MAX_LENGTH_LIMIT,
    ), status))
    if shown:
        response.headers["Cache-Control"] = "no-store"  # a secret: not for any cache
    return response


def _sites_changed() -> None:
    """After the commit: the intake must not go on using a cached key or settings."""
    current_app.extensions["vimod.site_keys"].invalidate()


# --- views --------------------------------------------------------------------------------

@bp.get("/sites")
def sites():  # noqa: ANN201
    session = db.session()
    rows = list(session.scalars(select(Site).order_by(Site.name, Site.id)))
    pending = dict(session.execute(
        select(Comment.site_id, func.count())
        .where(Comment.status == CommentStatus.pending)
        .group_by(Comment.site_id)).tuples().all())
    return render_template("admin/sites/list.html", sites=rows, pending=pending)


@bp.route("/sites/new", methods=["GET", "POST"])
def sites_new():  # noqa: ANN201
    if request.method == "GET":
        return render_template("admin/sites/new.html", values={}, errors={})
    details, errors = parse_details(request.form)
    if errors:
        return render_template("admin/sites/new.html", values=_form_values(request.form),
                               errors=errors), 400
    session = db.session()
    new = create_site(session, details["name"], details["domain"], details["allowed_origins"])
    token = stash(f"site:{new.site.id}", "api_key", new.api_key)
    audit("site.create", "site", new.site.id, {"changes": changes({}, {
        "name": new.site.name, "domain": new.site.domain,
        "allowed_origins": new.site.allowed_origins, "api_key_prefix": new.site.api_key_prefix,
    })})
    session.commit()
    _sites_changed()
    flash(_("Site created."), "ok")
    return redirect(url_for("admin.sites_show", site_id=new.site.id, shown=token), 303)


@bp.get("/sites/<int:site_id>")
def sites_show(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id)
    return _site_page(site, shown=take(request.args.get("shown"), f"site:{site.id}"))


@bp.post("/sites/<int:site_id>/details")
def sites_details(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id, lock=True)
    details, errors = parse_details(request.form)
    if errors:
        return _site_page(site, 400, details=_form_values(request.form), details_errors=errors)
    before = {"name": site.name, "domain": site.domain, "allowed_origins": site.allowed_origins}
    diff = changes(before, details)
    if not diff:
        flash(_("Nothing changed."), "ok")
        return redirect(url_for("admin.sites_show", site_id=site.id), 303)
    site.name, site.domain = details["name"], details["domain"]
    site.allowed_origins = details["allowed_origins"]
    audit("site.details", "site", site.id, {"changes": diff})
    db.session().commit()
    _sites_changed()
    flash(_("Site saved."), "ok")
    return redirect(url_for("admin.sites_show", site_id=site.id), 303)


@bp.post("/sites/<int:site_id>/settings")
def sites_settings(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id, lock=True)
    parsed, errors = parse_settings(request.form)
    if errors:
        values = _form_values(request.form, ("premoderation", "auto_reject_banned"))
        return _site_page(site, 400, settings=values, settings_errors=errors)
    before = current_settings(site)
    diff = changes(before, {**before, **parsed})
    if not diff:
        flash(_("Nothing changed."), "ok")
        return redirect(url_for("admin.sites_show", site_id=site.id), 303)
    stored = {**(site.settings or {}), **parsed}
    if stored.get("webhook_url") is None:
        stored.pop("webhook_url", None)
    site.settings = stored  # a new dict: the JSON column sees the change
    audit("site.settings", "site", site.id, {"changes": diff})
    db.session().commit()
    _sites_changed()
    flash(_("Settings saved. New comments are moderated with them from now on."), "ok")
    return redirect(url_for("admin.sites_show", site_id=site.id, _anchor="settings"), 303)


@bp.post("/sites/<int:site_id>/rotate-key")
def sites_rotate_key(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id, lock=True)
    before = site.api_key_prefix
    api_key = rotate_api_key(site)
    token = stash(f"site:{site.id}", "api_key", api_key)
    audit("site.rotate_key", "site", site.id,
          {"changes": {"api_key_prefix": {"before": before, "after": site.api_key_prefix}}})
    db.session().commit()
    _sites_changed()
    flash(_("The secret API key was replaced; the old key no longer works."), "ok")
    return redirect(url_for("admin.sites_show", site_id=site.id, shown=token), 303)


@bp.post("/sites/<int:site_id>/webhook-secret")
def sites_webhook_secret(site_id: int):  # noqa: ANN201
    site = _site_or_404(site_id, lock=True)
    had = bool((site.settings or {}).get("webhook_secret"))
    secret = rotate_webhook_secret(site)
    token = stash(f"site:{site.id}", "webhook_secret", secret)
    audit("site.webhook_secret", "site", site.id, {"replaced_existing": had})
    db.session().commit()
    _sites_changed()
    flash(_("A new webhook secret was generated."), "ok")
    return redirect(url_for("admin.sites_show", site_id=site.id, shown=token), 303)
