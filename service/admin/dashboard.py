"""Admin console: the dashboard — pending comments per site, decisions per moderator per
day, the automatic decision rate, and moderators' overrides per model version; each as a
server-drawn SVG chart with the same figures in a table. Queries: service/dashboard_stats.py."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from service import charts, db
from service import dashboard_stats as stats
from service.admin import bp, section
from service.errors import APIError
from service.params import parse_id
from service.storage import Site
from service.storage.tables import utcnow

section("admin.dashboard", _l("Dashboard"))

MAX_MODERATOR_SERIES = 7  # more moderators are drawn together as "others"


def age_text(age: timedelta | None) -> str:
    if age is None:
        return "—"
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return _("%(num)d min", num=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(days)d d %(hours)d h", days=hours // 24, hours=hours % 24)


def _day_label(day) -> str:  # noqa: ANN001
    return day.strftime("%d/%m")


def _moderator_chart(window: stats.Window, people: list[stats.ModeratorDays]):  # noqa: ANN202
    shown, rest = people[:MAX_MODERATOR_SERIES], people[MAX_MODERATOR_SERIES:]
    series = [charts.Series(p.actor, [p.on(d) for d in window.days]) for p in shown]
    if rest:
        series.append(charts.Series(_("others (%(num)d)", num=len(rest)),
                                    [sum(p.on(d) for p in rest) for d in window.days]))
    return charts.stacked_bars(
        "chart-moderators", _("Decisions per moderator per day"),
        _("Stacked bars: one bar per day of the last %(num)d days, one segment per moderator.",
          num=len(window.days)),
        [_day_label(d) for d in window.days], series)


@bp.get("/dashboard")
def dashboard():  # noqa: ANN201
    session = db.session()
    raw = request.args.get("site", "")
    site = None
    if raw:
        site_id = parse_id(raw)
        if site_id is None:
            raise APIError(400, _("The site must be given by its number."),
                           fields={"site": raw[:50]})
        site = session.get(Site, site_id)
        if site is None:
            abort(404)
    site_id = site.id if site else None
    now = utcnow()
    window = stats.Window.ending(now)

    pending = stats.pending_by_site(session)
    counts = stats.decision_counts(session, window, site_id)
    people = stats.decisions_per_moderator(counts)
    days = stats.decisions_per_day(counts, window)
    versions = stats.override_rates(session, now - timedelta(days=stats.OVERRIDE_DAYS), site_id)

    pending_chart = charts.horizontal_bars(
        "chart-pending", _("Pending comments per site"),
        _("One bar per site: the number of comments waiting for a moderator."),
        [p.name for p in pending], [p.pending for p in pending]) if pending else None
    automatic_chart = charts.lines(
        "chart-automatic", _("Automatic decisions per day"),
        _("A line over the last %(num)d days: the share of the day's decisions made "
          "automatically; no point on days without decisions.", num=len(window.days)),
        [_day_label(d) for d in window.days],
        [charts.Series(_("automatic"), [d.automatic_rate for d in days])], percent=True)
    rated = [v for v in versions if v.override_rate is not None]
    override_chart = charts.horizontal_bars(
        "chart-overrides", _("Moderators overriding the model, per version"),
        _("One bar per model version: the share of the comments it scored and a moderator "
          "decided where the moderator disagreed."),
        [v.version for v in rated], [v.override_rate or 0.0 for v in rated],
        percent=True) if rated else None
    return render_template(
        "admin/dashboard/index.html", site=site,
        sites=list(session.scalars(select(Site).order_by(Site.name, Site.id))),
        now=now, window=window, pending=pending, people=people, days=days,
        versions=versions, override_days=stats.OVERRIDE_DAYS, age_text=age_text,
        day_label=_day_label,
        pending_chart=pending_chart, moderator_chart=_moderator_chart(window, people),
        automatic_chart=automatic_chart, override_chart=override_chart,
    )
