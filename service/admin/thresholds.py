"""Admin console: thresholds. For one site (or all) and a window of recent decisions, how the
auto-reject rule of a category and the auto-approve rule would have fared against what the
moderators decided (the labels retraining uses: training_set()'s decisions, with admins'
corrections), a suggested threshold for a target precision, and a button that writes it
into the site's settings (the keys workers/pipeline/policy.py reads). The arithmetic is in
service/thresholds.py."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any, NamedTuple

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import db
from service import thresholds as calc
from service import training_examples as examples
from service.admin import audit, bp, section
from service.admin.sites import POLICY_DEFAULTS
from service.auth import safe_next
from service.errors import APIError
from service.params import parse_id, parse_int
from service.storage import Site
from service.storage.tables import utcnow

section("admin.thresholds", _l("Thresholds"))

CATEGORY_NAMES = {"spam": _l("spam"), "offensive": _l("offensive"), "hate": _l("hate")}
DEFAULTS = {"days": 30, "target": 99, "support": 20}


class Sample(NamedTuple):
    label: str                 # the effective label of the moderator's decision
    spam: float                # the classifier's probabilities (calc.RISK_CATEGORIES)
    offensive: float
    hate: float

    @property
    def risk(self) -> float:   # calc.risk(): the highest of the three
        return max(self.spam, self.offensive, self.hate)


def samples(session: Session, site_id: int | None, days: int,
            model_version: str | None = None) -> tuple[list[Sample], Counter[str]]:
    """The comments the classifier scored and a moderator decided in the last ``days``, with
    the labels retraining would use (service.training_examples.scored_decisions); and how
    many of them each model version scored (before the ``model_version`` filter, for the
    page's choice)."""
    since = utcnow() - timedelta(days=days)
    found: list[Sample] = []
    versions: Counter[str] = Counter()
    for _id, label, version, spam, offensive, hate in examples.scored_decisions(
            session, site_id, since, calc.RISK_CATEGORIES):
        versions[version or "?"] += 1
        if model_version is None or version == model_version:
            found.append(Sample(label, spam, offensive, hate))
    return found, versions


def _int_arg(name: str, low: int, high: int) -> int:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return DEFAULTS[name]
    value = parse_int(raw, low, high)
    if value is None:
        raise APIError(400, _("%(name)s must be a whole number from %(low)d to %(high)d.",
                              name=name, low=low, high=high))
    return value


def _site(raw: str | None) -> Site | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    site_id = parse_id(raw)
    if site_id is None:
        raise APIError(400, _("Unknown site."))
    site = db.session().get(Site, site_id)
    if site is None:
        abort(404)
    return site


@bp.get("/thresholds")
def thresholds():  # noqa: ANN201
    session = db.session()
    site = _site(request.args.get("site"))
    category = request.args.get("category") or "spam"
    if category not in CATEGORY_NAMES:
        raise APIError(400, _("Unknown category."))
    days = _int_arg("days", 1, 365)
    target_pct = _int_arg("target", 50, 100)
    support = _int_arg("support", 1, 100000)
    model = (request.args.get("model") or "").strip()[:64] or None
    found, versions = samples(session, site.id if site else None, days, model)
    target = target_pct / 100
    reject = calc.reject_curve([(getattr(s, category), s.label == category) for s in found])
    approve = calc.approve_curve([(s.risk, s.label == "clean") for s in found])
    suggested_reject = calc.suggest_reject(reject, target, support)
    suggested_approve = calc.suggest_approve(approve, target, support)
    current_reject = current_approve = None
    if site is not None:
        current_reject = (site.setting("auto_reject") or {}).get(category)
        current_approve = _approve_below(site)
    labels = Counter(s.label for s in found)
    return render_template(
        "admin/thresholds/index.html", site=site, category=category, days=days,
        target_pct=target_pct, support=support, model=model, versions=versions,
        sites=list(session.scalars(select(Site).order_by(Site.name))),
        category_names=CATEGORY_NAMES, samples=len(found), labels=labels,
        reject=reject, approve=approve, suggested_reject=suggested_reject,
        suggested_approve=suggested_approve, current_reject=current_reject,
        current_approve=current_approve,
        premoderation=site.setting("premoderation") if site else None,
        reject_chart=chart(reject, ("precision", "recall"), target,
                           suggested_reject.threshold if suggested_reject else None,
                           current_reject),
        approve_chart=chart(approve, ("precision", "coverage"), target,
                            suggested_approve.threshold if suggested_approve else None,
                            current_approve),
        back=request.full_path)


def _approve_below(site: Site) -> float:
    # never set: what the policy assumes
    value = (site.settings or {}).get("auto_approve_below")
    return POLICY_DEFAULTS["auto_approve_below"] if value is None else value


_THRESHOLD = re.compile(r"0\.\d{1,2}")


@bp.post("/thresholds/apply")
def thresholds_apply():  # noqa: ANN201
    """Write one threshold into a site's settings: ``auto_reject[category]`` (``off``
    removes it) or ``auto_approve_below``; audited with the values before and after."""
    form = request.form
    back = safe_next(form.get("back") or url_for("admin.thresholds"))
    rule, category, raw = form.get("rule"), form.get("category"), form.get("threshold", "")
    if rule not in ("reject", "approve") or (rule == "reject" and category not in
                                             CATEGORY_NAMES):
        raise APIError(400, _("Unknown rule."))
    value: float | None = None
    if not (rule == "reject" and raw == "off"):
        low, high = (50, 99) if rule == "reject" else (1, 50)
        hundredths = round(float(raw) * 100) if _THRESHOLD.fullmatch(raw) else -1
        if not low <= hundredths <= high:
            raise APIError(400, _("The threshold must be from %(low)s to %(high)s.",
                                  low=f"{low / 100:.2f}", high=f"{high / 100:.2f}"))
        value = hundredths / 100
    site = _site(form.get("site"))
    if site is None:
        flash(_("Choose the site to apply the threshold to."), "error")
        return redirect(back, 303)
    session = db.session()
    site = session.get(Site, site.id, with_for_update=True, populate_existing=True)
    settings = dict(site.settings or {})
    if rule == "reject":
        key = f"auto_reject.{category}"
        rules = dict(settings.get("auto_reject") or {})
        before = rules.get(category)
        if value is None:
            rules.pop(category, None)
        else:
            rules[category] = value
        settings["auto_reject"] = rules
    else:
        key = "auto_approve_below"
        before = _approve_below(site)
        settings["auto_approve_below"] = value
    site.settings = settings
    audit("site.threshold", "site", site.id, {"setting": key, "before": before, "after": value})
    session.commit()
    if value is None:
        flash(_("Automatic rejection for %(category)s is off on %(site)s.",
                category=CATEGORY_NAMES[category], site=site.name), "ok")
    else:
        flash(_("%(setting)s = %(value)s on %(site)s.", setting=key, value=f"{value:.2f}",
                site=site.name), "ok")
    return redirect(back)


# --- the chart (server-rendered SVG; classes carry the styles, vimod.css) ---------------------

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 30


def chart(points: list[calc.Point], series: tuple[str, ...], target: float,
          suggested: float | None, current: Any) -> dict[str, Any]:
    """Geometry for the template: one polyline per series (split where it is undefined),
    the target precision line, and markers at the suggested and current thresholds."""
    lo, hi = points[0].threshold, points[-1].threshold
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + (t - lo) / (hi - lo) * plot_w, 1)

    def y(v: float) -> float:
        return round(TOP + (1 - v) * plot_h, 1)

    lines = {}
    for name in series:
        segments: list[list[str]] = [[]]
        for p in points:
            v = getattr(p, name)
            if v is None:
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(f"{x(p.threshold)},{y(v)}")
        lines[name] = [" ".join(s) for s in segments if s]
    step = 0.05 if hi - lo <= 0.5 else 0.1
    xticks = [round(lo + i * step, 2) for i in range(int(round((hi - lo) / step)) + 1)
              if lo + i * step <= hi + 1e-9]
    try:
        current_value = float(current) if current is not None else None
    except (TypeError, ValueError):
        current_value = None
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM, "lines": lines,
        "xticks": [(t, x(t)) for t in xticks],
        "yticks": [(v, y(v)) for v in (0, 0.25, 0.5, 0.75, 1)],
        "target": y(target),
        "suggested": x(suggested) if suggested is not None else None,
        "current": x(current_value) if current_value is not None and lo <= current_value <= hi
        else None,
    }
