"""Admin console: classifier versions — list, compare, promote, roll back, shadow mode.

The registry (models/classifier/registry.py) holds the versions and the active.json
pointers; the workers re-read the pointers every VIMOD_MODEL_RECHECK_SECONDS, so every
change made here reaches them without a restart. Changes are POST + CSRF, confirmed on a
page that shows what will change, and audited.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.classifier.datasets import LABELS
from models.classifier.registry import DEFAULT_VERSION, ConcurrentChange, Registry
from service import db
from service.admin import audit, bp, section
from service.errors import APIError
from service.model_compare import (
    DEFAULT_RECENT,
    MIN_EXAMPLES_PER_LABEL,
    ModelLoadError,
    base_sets,
    compare,
    load_version,
    parse_since,
    recent_decisions,
    shadow_agreement,
    trained_until,
)
from service.model_pictures import confusion_picture, pr_picture
from service.params import parse_id
from service.review_labels import category_label
from service.storage import Site

section("admin.models", _l("Models"))

# The registry's log records an action code (models/classifier/registry.py); shown in words.
LOG_ACTIONS = {
    "promote": _l("made active"),
    "rollback": _l("rolled back"),
    "clear": _l("back to the global model"),
    "shadow": _l("shadow mode started"),
    "shadow_clear": _l("shadow mode stopped"),
}

# Evaluating both models on all base files takes ~8 s when nothing is cached yet: the page
# computes what fits in this time and says what a reload will add.
PAGE_BUDGET_SECONDS = 3.0


def _registry() -> Registry:
    return Registry()


def _known_version(reg: Registry, version: str) -> str:
    try:
        reg.path_of(version)
    except (KeyError, ValueError):
        raise APIError(404, _("There is no model version %(v)s.", v=version)) from None
    return version


def _loadable(reg: Registry, version: str) -> None:
    # Workers keep the old model when a new one fails to load; better not to promote it.
    try:
        load_version(reg, version)
    except ModelLoadError as e:
        raise APIError(409, _("Version %(v)s cannot be loaded (%(error)s); nothing changed.",
                              v=version, error=str(e))) from None


def _site_arg(source: dict[str, str]) -> Site | None:
    """The site named by the form/query field "site" ("" or missing: global)."""
    raw = (source.get("site") or "").strip()
    if not raw:
        return None
    site_id = parse_id(raw)
    site = db.session().get(Site, site_id) if site_id is not None else None
    if site is None:
        raise APIError(400, _("Unknown site."))
    return site


def _scope_name(site: Site | None) -> str:
    return "global" if site is None else f"site:{site.id}"


def _created(value: Any) -> datetime | None:
    return parse_since(value) if isinstance(value, str) else None


def _sites_by_id() -> dict[str, Site]:
    return {str(s.id): s for s in db.session().scalars(select(Site).order_by(Site.name))}


def _rollback_target(state: dict[str, Any], site: Site | None) -> tuple[bool, str | None]:
    """(possible, version the scope goes back to; None = default / follow the global)."""
    stack = state["previous"].get(_scope_name(site)) or []
    return (True, stack[-1]) if stack else (False, None)


def _pointer(state: dict[str, Any], site: Site | None) -> str | None:
    return state["global"] if site is None else state["sites"].get(str(site.id))


def _effective(state: dict[str, Any], site: Site | None) -> str:
    if site is not None and state["sites"].get(str(site.id)):
        return state["sites"][str(site.id)]
    return state["global"] or DEFAULT_VERSION


def _follows(state: dict[str, Any], site: Site | None) -> str:
    # What a scope without its own pointer uses: a site the global model, global the default.
    return (state["global"] or DEFAULT_VERSION) if site is not None else DEFAULT_VERSION


def _already(state: dict[str, Any], site: Site | None, version: str) -> bool:
    pointer = _pointer(state, site)
    return pointer == version or (site is None and pointer is None
                                  and version == DEFAULT_VERSION)


def _check_expected(form: dict[str, str], field: str, actual: str | None) -> None:
    # The confirmation page showed a state; if another admin changed it since, say so.
    if form.get(field, "") != (actual or ""):
        _changed_meanwhile()


def _changed_meanwhile() -> NoReturn:
    # Also when the registry, checking again under its lock, finds a change made between
    # this request's check and its write (a double-click reaching two web processes).
    db.session().rollback()  # the audit row flushed for this change goes too
    raise APIError(409, _("The active models changed in the meantime. "
                          "Review the new state and confirm again."))


# --- the list -------------------------------------------------------------------------------

@bp.get("/models", endpoint="models")
def models_list():  # noqa: ANN201
    reg = _registry()
    state = reg.state()
    sites = _sites_by_id()
    rows = []
    for item in reg.list():
        try:
            info = reg.info(item["version"])
        except (KeyError, OSError, ValueError):
            info = {}
        data = info.get("data") or {}
        metrics = info.get("metrics") if isinstance(info.get("metrics"), dict) else {}
        # Only figures measured on the same examples for every version: the base evaluation
        # files (named, with their size). A version's cross-validated or held-out figure is
        # measured on its own data: not shown here beside another's (issue #17).
        evals = [(k.split(":", 1)[1], v["macro_f1"], v.get("n")) for k, v in sorted(
            metrics.items()) if k.startswith("eval:") and isinstance(v, dict)
            and isinstance(v.get("macro_f1"), int | float)]
        mode = data.get("mode") if isinstance(data, dict) else None
        rows.append({**item, "created_at": _created(item.get("created")), "evals": evals,
                     "mode": mode, "lacking": (data.get("lacking_labels") or [])
                     if isinstance(data, dict) else [],
                     "data_total": data.get("total") if isinstance(data, dict) else None,
                     "data_labels": data.get("labels") if isinstance(data, dict)
                     and isinstance(data.get("labels"), dict) else {},
                     "active_where": [_("global") if scope == "global"
                                      else _site_label(sites, scope) for scope in item["active"]]})
    # The shipped default first, then the newest.
    rows = rows[:1] + sorted(rows[1:], key=lambda r: r["version"], reverse=True)
    scopes = [{"site": None, "version": state["global"] or DEFAULT_VERSION,
               "can_rollback": bool(state["previous"].get("global"))}]
    for site_id, version in sorted(state["sites"].items()):
        site = sites.get(site_id)
        if site is not None:
            scopes.append({"site": site, "version": version,
                           "can_rollback": bool(state["previous"].get(f"site:{site_id}"))})
    shadow = state["shadow"]
    log = list(reversed(state["log"][-10:]))
    return render_template("admin/models/list.html", rows=rows, scopes=scopes,
                           sites=list(sites.values()), shadow=shadow,
                           shadow_since=parse_since((shadow or {}).get("since")),
                           log=log, parse_since=parse_since, log_actions=LOG_ACTIONS,
                           site_label=lambda scope: _site_label(sites, scope))


def _site_label(sites: dict[str, Site], scope: str) -> str:
    if scope == "global":
        return _("global")
    if scope == "shadow":
        return _("shadow")
    site_id = scope.split(":", 1)[-1]
    site = sites.get(site_id)
    return site.name if site is not None else _("site %(id)s", id=site_id)


# --- promotion warnings (issue #17) --------------------------------------------------------

def _labels_of(reg: Registry, version: str) -> list[str]:
    return list(_info(reg, version).get("labels") or [])


def _policy_uses(site: Site) -> dict[str, str]:
    """The labels a site's policy acts on: {label: the rule, in words}."""
    out: dict[str, str] = {}
    for label, threshold in (site.setting("auto_reject") or {}).items():
        if isinstance(threshold, int | float) and not isinstance(threshold, bool):
            out[str(label)] = _("auto-reject at %(t)s", t=f"{threshold:g}")
    below = site.setting("auto_approve_below")
    if site.setting("premoderation") is False and isinstance(below, int | float):
        for label in ("spam", "offensive", "hate"):
            out.setdefault(label, _("auto-approve below %(t)s", t=f"{below:g}"))
    return out


def promotion_warnings(reg: Registry, version: str, site: Site | None,
                       state: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """What may go wrong if ``version`` becomes active in this scope: ``[{"code",
    "text"}]`` (shown by name on the confirm page, codes in the audit entry) and the
    evaluation they rest on (for the page: set, n, per-label counts)."""
    current = _effective(state, site)
    warnings: list[dict[str, str]] = []
    facts: dict[str, Any] = {"against": current, "n": 0, "counts": {}}
    if current == version:
        return warnings, facts
    names = lambda labels: ", ".join(category_label(y) for y in labels)  # noqa: E731
    mine = _labels_of(reg, version)
    theirs = _labels_of(reg, current)
    lost = [y for y in theirs if y not in mine]
    if lost:
        warnings.append({"code": "lacks_active_label", "text": _(
            "%(v)s does not know %(labels)s, which the active model %(active)s gives: these "
            "scores disappear from every comment it scores.", v=version, labels=names(lost),
            active=current)})
    sites = _sites_by_id()
    affected = [site] if site is not None else [
        s for sid, s in sites.items() if not state["sites"].get(sid)]
    for s in affected:
        for label, rule in _policy_uses(s).items():
            if label not in mine:
                warnings.append({"code": "lacks_policy_label", "text": _(
                    "The policy of %(site)s uses %(label)s (%(rule)s), which %(v)s does not "
                    "know: that rule would stop working.", site=s.name,
                    label=category_label(label), rule=rule, v=version)})
    trained = [t for v in (version, current) if (t := trained_until(_info(reg, v)))]
    data = recent_decisions(db.session(), current_app.config.get(
        "MODEL_COMPARE_RECENT", DEFAULT_RECENT), site_id=None if site is None else site.id,
        trained=trained)
    counts = {y: data.gold.count(y) for y in sorted(set(mine) | set(theirs) | set(data.gold),
                                                   key=lambda y: (y not in LABELS, y))}
    facts.update(n=len(data), counts=counts)
    few = [y for y, k in counts.items() if k < MIN_EXAMPLES_PER_LABEL]
    if few:
        warnings.append({"code": "few_examples", "text": _(
            "The evaluation has fewer than %(min)d examples of %(labels)s (%(detail)s; %(n)d "
            "moderator decisions in all): too few to tell whether %(v)s is better.",
            min=MIN_EXAMPLES_PER_LABEL, labels=names(few), n=len(data), v=version,
            detail=", ".join(f"{category_label(y)} {counts[y]}" for y in few))})
    if len(data):
        try:
            [result] = compare(reg, version, current, [data],
                               cache_client=current_app.extensions.get("vimod.redis"))
        except (ModelLoadError, KeyError, ValueError):
            result = None
        if result is not None:
            drops = [(y, result.b.report["per_class"][y]["f1"],
                      result.a.report["per_class"][y]["f1"]) for y in result.labels
                     if result.a.report["per_class"][y]["f1"]
                     < result.b.report["per_class"][y]["f1"]]
            if drops:
                warnings.append({"code": "f1_drop", "text": _(
                    "F1 drops on the same %(n)d moderator decisions for %(labels)s (%(detail)s).",
                    n=len(data), labels=names([y for y, _a, _b in drops]),
                    detail=", ".join(f"{category_label(y)} {a:.3f} → {b:.3f}"
                                     for y, a, b in drops))})
    return warnings, facts


# --- promote / make active -----------------------------------------------------------------

@bp.get("/models/<version>/promote", endpoint="models_promote_confirm")
def promote_confirm(version: str):  # noqa: ANN201
    reg = _registry()
    _known_version(reg, version)
    site = _site_arg(request.args)
    state = reg.state()
    current = _effective(state, site)
    sites = _sites_by_id()
    # A global change reaches every site except those with their own model.
    unaffected = [sites[s] for s in state["sites"] if s in sites] if site is None else []
    warnings, facts = promotion_warnings(reg, version, site, state)
    return render_template("admin/models/promote.html", version=version, site=site,
                           warnings=warnings, facts=facts, min_per_label=MIN_EXAMPLES_PER_LABEL,
                           current=current, pointer=_pointer(state, site) or "",
                           unaffected=unaffected, same=_already(state, site, version),
                           shadow=(state["shadow"] or {}).get("version"))


@bp.post("/models/<version>/promote", endpoint="models_promote")
def promote(version: str):  # noqa: ANN201
    reg = _registry()
    _known_version(reg, version)
    site = _site_arg(request.form)
    state = reg.state()
    _check_expected(request.form, "expect", _pointer(state, site))
    if _already(state, site, version):
        flash(_("%(v)s is already active there; nothing changed.", v=version), "ok")
        return redirect(url_for("admin.models"))
    _loadable(reg, version)
    warnings, _facts = promotion_warnings(reg, version, site, state)
    if warnings and request.form.get("confirm_warnings") != "yes":
        flash(_("Not made active: %(n)d warnings need your confirmation. Read them and tick "
                "the box to confirm.", n=len(warnings)), "error")
        return redirect(url_for("admin.models_promote_confirm", version=version,
                                site=site.id if site else None), 303)
    scope = _scope_name(site)
    entry = audit("model.promote", "model", version, {"scope": scope})
    db.session().flush()  # a database failure stops here, before the registry changes
    try:
        old = reg.promote(version, site_id=None if site is None else site.id,
                          expect=_pointer(state, site))
    except ConcurrentChange:
        _changed_meanwhile()
    details: dict[str, Any] = {"scope": scope, "from": old or DEFAULT_VERSION, "to": version}
    if warnings:   # confirmed (refused above otherwise): which warnings, by code
        details["warnings"] = [w["code"] for w in warnings]
        details["warnings_confirmed"] = True
    if site is None and (state["shadow"] or {}).get("version") == version:
        reg.clear_shadow()  # the candidate now decides: comparing it with itself is moot
        details["shadow_cleared"] = True
    entry.details = details
    db.session().commit()
    flash(_("%(v)s is now active (%(scope)s). Workers use it for new comments within "
            "seconds.", v=version, scope=_site_label(_sites_by_id(), scope)), "ok")
    return redirect(url_for("admin.models"))


# --- roll back ------------------------------------------------------------------------------

@bp.get("/models/pointer/rollback", endpoint="models_rollback_confirm")
def rollback_confirm():  # noqa: ANN201
    reg = _registry()
    site = _site_arg(request.args)
    state = reg.state()
    possible, target = _rollback_target(state, site)
    return render_template("admin/models/rollback.html", site=site, possible=possible,
                           current=_effective(state, site),
                           pointer=_pointer(state, site) or "", target=target or "",
                           target_effective=target or _follows(state, site))


@bp.post("/models/pointer/rollback", endpoint="models_rollback")
def rollback():  # noqa: ANN201
    reg = _registry()
    site = _site_arg(request.form)
    state = reg.state()
    possible, target = _rollback_target(state, site)
    if not possible:
        raise APIError(409, _("There is no earlier version to roll back to."))
    _check_expected(request.form, "expect", _pointer(state, site))
    _check_expected(request.form, "target", target)
    _loadable(reg, target or _follows(state, site))
    scope = _scope_name(site)
    entry = audit("model.rollback", "model", target or DEFAULT_VERSION, {"scope": scope})
    db.session().flush()
    try:
        reg.rollback(site_id=None if site is None else site.id, expect=_pointer(state, site))
    except ConcurrentChange:
        _changed_meanwhile()
    after = _effective(reg.state(), site)
    entry.details = {"scope": scope, "from": _effective(state, site), "to": after}
    db.session().commit()
    flash(_("Rolled back: %(v)s is active again (%(scope)s).", v=after,
            scope=_site_label(_sites_by_id(), scope)), "ok")
    return redirect(url_for("admin.models"))


# --- shadow mode -----------------------------------------------------------------------------

@bp.post("/models/<version>/shadow", endpoint="models_shadow")
def shadow_start(version: str):  # noqa: ANN201
    reg = _registry()
    _known_version(reg, version)
    state = reg.state()
    if (state["global"] or DEFAULT_VERSION) == version:
        raise APIError(400, _("This version is already active globally; a shadow must be "
                              "another version."))
    _loadable(reg, version)
    entry = audit("model.shadow", "model", version, {})
    db.session().flush()
    old = reg.set_shadow(version)
    entry.details = {"from": old, "to": version}
    db.session().commit()
    flash(_("%(v)s now scores new comments in shadow mode, without deciding anything.",
            v=version), "ok")
    if request.form.get("back") == "compare":
        return redirect(url_for("admin.models_compare", version=version))
    return redirect(url_for("admin.models"))


@bp.post("/models/pointer/shadow-clear", endpoint="models_shadow_clear")
def shadow_clear():  # noqa: ANN201
    reg = _registry()
    current = reg.shadow_version()
    if current is None:
        flash(_("No shadow model was set; nothing changed."), "ok")
        return redirect(url_for("admin.models"))
    entry = audit("model.shadow_clear", "model", current, {})
    db.session().flush()
    old = reg.clear_shadow()
    entry.details = {"from": old, "to": None}
    db.session().commit()
    flash(_("Shadow mode stopped."), "ok")
    return redirect(url_for("admin.models"))


# --- compare ---------------------------------------------------------------------------------

@bp.get("/models/<version>", endpoint="models_compare")
def compare_page(version: str):  # noqa: ANN201
    reg = _registry()
    _known_version(reg, version)
    state = reg.state()
    active = state["global"] or DEFAULT_VERSION
    against = request.args.get("against", "").strip()
    if against:
        _known_version(reg, against)
        if against == version:
            raise APIError(400, _("Choose two different versions to compare."))
    else:
        against = active if active != version else _fallback_against(reg, state, version)
    versions = [r["version"] for r in reg.list()]
    shadow = state["shadow"]
    shadow_figures = None
    if shadow and shadow["version"] == version:
        since = parse_since(shadow.get("since")) or datetime.fromtimestamp(0, UTC)
        shadow_figures = shadow_agreement(db.session(), version, since)
    if against is None:
        return render_template("admin/models/compare.html", version=version, against=None,
                               versions=versions, active=active, sets=[],
                               shadow=shadow, shadow_figures=shadow_figures, seconds=0,
                               recent=0, left_out=0, available=0, base_missing=False,
                               pending=[])
    n = current_app.config.get("MODEL_COMPARE_RECENT", DEFAULT_RECENT)
    t0 = time.perf_counter()
    trained = [t for v in (version, against) if (t := trained_until(_info(reg, v)))]
    sets = [recent_decisions(db.session(), n, trained=trained)]
    base = base_sets()
    sets += base
    try:
        results = compare(reg, version, against, sets,
                          cache_client=current_app.extensions.get("vimod.redis"),
                          budget=current_app.config.get("MODEL_COMPARE_BUDGET_SECONDS",
                                                        PAGE_BUDGET_SECONDS))
    except ModelLoadError as e:
        raise APIError(409, _("Version %(v)s cannot be loaded (%(error)s).", v=e.version,
                              error=str(e))) from None
    pictures = {r.key: {"a": {"confusion": confusion_picture(r.a.report),
                              "pr": pr_picture(r.a.curves, r.labels)},
                        "b": {"confusion": confusion_picture(r.b.report),
                              "pr": pr_picture(r.b.curves, r.labels)}}
                for r in results}
    few_by_set = {}
    for r in results:
        few = [(y, r.a.report["per_class"][y]["support"]) for y in r.labels
               if r.a.report["per_class"][y]["support"] < MIN_EXAMPLES_PER_LABEL]
        if few:
            few_by_set[r.key] = {
                "labels": ", ".join(category_label(y) for y, _k in few),
                "detail": ", ".join(f"{category_label(y)} {k}" for y, k in few)}
    return render_template("admin/models/compare.html", version=version, against=against,
                           few_by_set=few_by_set, min_per_label=MIN_EXAMPLES_PER_LABEL,
                           versions=versions, active=active, sets=results,
                           pictures=pictures, shadow=shadow, shadow_figures=shadow_figures,
                           seconds=time.perf_counter() - t0, recent=len(sets[0]),
                           left_out=sets[0].left_out, available=sets[0].available,
                           pending=[d.title for d in sets if len(d) and d.key not in
                                    {r.key for r in results}],
                           base_missing=not base)


def _info(reg: Registry, version: str) -> dict[str, Any]:
    try:
        return reg.info(version)
    except (KeyError, OSError, ValueError):
        return {}


def _fallback_against(reg: Registry, state: dict[str, Any], version: str) -> str | None:
    """For the active version itself: the one it replaced, else the shipped default."""
    previous = [v for v in (state["previous"].get("global") or []) if v != version]
    for candidate in [*reversed(previous), DEFAULT_VERSION]:
        candidate = candidate or DEFAULT_VERSION
        if candidate != version:
            try:
                reg.path_of(candidate)
            except (KeyError, ValueError):
                continue
            return candidate
    return None
