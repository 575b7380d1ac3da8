"""The bans page (/review/bans): every ban on the moderator's sites (an admin's: all), with
who banned whom, why, when and until when, filtered by site, state and e-mail/IP (the
filters stay in the URL), and lifting a ban before its end (audited). Routes on the review
blueprint (service/review.py)."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from service import bans as ban_rules
from service import db, moderation
from service.params import parse_id, parse_page
from service.review import _visible_sites, bp
from service.storage import Ban, Comment, Site, User
from service.storage.tables import utcnow

PAGE_SIZE = 25
MAX_SEARCH = 200


def _filters() -> dict[str, Any]:
    """The page's filters as URL arguments (the defaults left out)."""
    state = request.args.get("state") or None
    out = {"site": parse_id(request.args.get("site")),
           "state": state if state in ban_rules.STATES else None,
           "q": (request.args.get("q") or "").strip()[:MAX_SEARCH] or None}
    return {k: v for k, v in out.items() if v is not None}


def bans_url(**changes: Any) -> str:
    """This page with the current filters, some changed (None removes one)."""
    args = {**_filters(), **changes}
    return url_for("review.bans", **{k: v for k, v in args.items() if v is not None})


def _scoped(query):  # noqa: ANN001, ANN202
    if not current_user.is_admin:
        query = query.where(Ban.site_id.in_(current_user.site_ids or {-1}))
    return query


def remaining(ban: Ban, now: datetime) -> str:
    """Until when a ban applies, in words: "vĩnh viễn", "còn 6 ngày", "còn 5 giờ"."""
    if ban.expires_at is None:
        return _("permanent")
    left = ban.expires_at - now
    if left.total_seconds() <= 0:
        return _("ended")
    hours = int(left.total_seconds() // 3600)
    if hours >= 24:  # a whole day or more: days, rounded up (a 7-day ban just made: 7)
        return ngettext("%(num)d day left", "%(num)d days left",
                        math.ceil(left.total_seconds() / 86400))
    if hours >= 1:
        return ngettext("%(num)d hour left", "%(num)d hours left", hours)
    return ngettext("%(num)d minute left", "%(num)d minutes left",
                    max(1, int(left.total_seconds() // 60)))


def author_bans(comment: Comment) -> list[Ban]:
    """The bans in force against the comment's author on its site (by e-mail or IP)."""
    who = [func.lower(Ban.email) == comment.author_email.lower()]
    if comment.client_ip:
        who.append(Ban.ip == comment.client_ip)
    return list(db.session().scalars(select(Ban).where(
        Ban.site_id == comment.site_id, ban_rules.active(utcnow()), or_(*who))
        .order_by(Ban.id)))


@bp.app_context_processor
def _ban_choices() -> dict[str, Any]:
    """The card's ban form: its durations and the one chosen at first; the author's bans."""
    return {"ban_durations": ban_rules.DURATIONS,
            "ban_default_duration": ban_rules.DEFAULT_DURATION, "author_bans": author_bans,
            "ban_remaining": lambda ban: remaining(ban, utcnow())}


FROM_COMMENT = re.compile(r"from comment (\d+)")


def ban_reason(reason: str) -> str:
    """The reason as stored; a ban made without one says the comment it was made from."""
    if match := FROM_COMMENT.fullmatch(reason):
        return _("from comment #%(id)s", id=match[1])
    return reason


@bp.get("/bans")
@login_required
def bans():  # noqa: ANN201
    filters = _filters()
    site_id = filters.get("site")
    if site_id is not None and not current_user.can_see_site(site_id):
        abort(404)
    page = parse_page(request.args.get("page"))
    now = utcnow()
    banned_by, lifted_by = aliased(User), aliased(User)
    query = _scoped(
        select(Ban, Site.name, banned_by.username, lifted_by.username)
        .join(Site, Site.id == Ban.site_id)
        .outerjoin(banned_by, banned_by.id == Ban.created_by)
        .outerjoin(lifted_by, lifted_by.id == Ban.lifted_by))
    if site_id is not None:
        query = query.where(Ban.site_id == site_id)
    if state := filters.get("state"):
        query = query.where(ban_rules.in_state(state, now))
    if q := filters.get("q"):
        needle = q.lower()
        query = query.where(or_(func.lower(Ban.email).contains(needle, autoescape=True),
                                Ban.ip.contains(q, autoescape=True)))
    rows = list(db.session().execute(
        query.order_by(Ban.created_at.desc(), Ban.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    has_next = len(rows) > PAGE_SIZE
    return render_template(
        "review/bans.html", rows=rows[:PAGE_SIZE], has_next=has_next, page=page, now=now,
        filters=filters, sites=_visible_sites(), states=ban_rules.STATES,
        remaining=remaining, bans_url=bans_url, ban_reason=ban_reason,
        any_filter=bool(filters))


@bp.post("/bans/<int:ban_id>/lift")
@login_required
def lift_ban(ban_id: int):  # noqa: ANN201
    """Lift a ban (the page asks to confirm first); back to the page with its filters."""
    ban = db.session().get(Ban, ban_id)
    # Another site's ban is "not found", not "forbidden": ids must not leak.
    if ban is None or not current_user.can_see_site(ban.site_id):
        abort(404)
    back = _back()
    try:
        moderation.lift_ban(db.session(), ban, current_user.id, current_user.username)
    except moderation.ModerationError as exc:
        flash(str(exc), "error")
        return redirect(back, 303)
    flash(_("Ban lifted: the author may comment again from their next comment on."), "ok")
    return redirect(back, 303)


def _back() -> str:
    """The bans page the form was sent from (its filters), never another site's page."""
    args = {"site": parse_id(request.form.get("site")),
            "state": request.form.get("state") if request.form.get("state")
            in ban_rules.STATES else None,
            "q": (request.form.get("q") or "").strip()[:MAX_SEARCH] or None,
            "page": parse_page(request.form.get("page")) if request.form.get("page") else None}
    return url_for("review.bans", **{k: v for k, v in args.items() if v is not None})
