"""The claim's routes on the review blueprint: the open card's heartbeat, the release (a
beacon when the page goes away, or the pane moving to another card), and the take-over
(audited). Imported at the bottom of service/review.py; the rules: service/review_claims.py."""

from __future__ import annotations

from flask import flash, get_template_attribute, jsonify, make_response, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from service import db
from service import review_claims as claims
from service.params import parse_id
from service.review import _card_context, _get_visible, _htmx, _pane, bp
from service.review_view import QueueView
from service.storage import AuditEntry, Comment

MAX_TOKEN = 40
MAX_IDS = 100  # a page of the list, its live arrivals, and the open card


def _token() -> str:
    return (request.form.get("token") or "")[:MAX_TOKEN]


@bp.post("/<int:comment_id>/heartbeat")
@login_required
def heartbeat(comment_id: int):  # noqa: ANN201
    """The open card says it is still open (every HEARTBEAT_SECONDS while shown): the claim
    is renewed, or taken again if it lapsed; if someone took it over, the card is told."""
    comment = _get_visible(comment_id)
    held = claims.hold(comment.id, current_user.id, current_user.username, token=_token())
    if held is None or held.user_id == current_user.id:
        return jsonify(held=True)
    flash(claims.held_message(comment.id, current_user.id, held, deciding=False), "warning")
    return jsonify(held=False, holder=held.name)


@bp.post("/<int:comment_id>/release")
@login_required
def release(comment_id: int):  # noqa: ANN201
    """Let go of one's own claim (the page's own, by its token): the card was left."""
    _get_visible(comment_id)
    claims.release(comment_id, current_user.id, _token())
    return make_response("", 204)


@bp.post("/<int:comment_id>/takeover")
@login_required
def takeover(comment_id: int):  # noqa: ANN201
    """Take over another moderator's claim (can_take_over: an admin at any time, a peer once
    the holder is idle); audited, and the previous holder is told."""
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    result = claims.take_over(comment.id, current_user, _token())
    if result.ok and result.previous is not None:
        db.session().add(AuditEntry(
            user_id=current_user.id, actor=current_user.username, action=claims.ACTION_TAKEOVER,
            target_type="comment", target_id=str(comment.id),
            details={"previous_user_id": result.previous.user_id,
                     "previous_holder": result.previous.name,
                     "held_since": result.previous.since_at.isoformat(),
                     "idle_seconds": result.previous.idle_seconds()}))
        db.session().commit()
        flash(Markup(_("You are now handling comment #%(id)d, taken over from %(name)s.",
                       id=comment.id, name=claims.bdi(result.previous.name or "?"))), "ok")
    elif result.ok:
        flash(_("Nobody else held this comment any more: it is yours now."), "ok")
    elif result.changed:
        flash(_("Someone else took this comment meanwhile; here it is as it stands now."),
              "error")
    elif result.previous is not None:
        flash(Markup(_("%(name)s is still active on this comment: only an administrator can "
                       "take it over now.", name=claims.bdi(result.previous.name or "?"))), "error")
    else:
        flash(_("The comment could not be taken over just now; try again."), "error")
    if _htmx():
        response = make_response(_pane(_card_context(comment, view), view))
        response.headers["HX-Push-Url"] = view.queue_url(comment.id)
        return response
    return redirect(view.queue_url(comment.id), 303)


@bp.get("/holders")
@login_required
def holders():  # noqa: ANN201
    """Who holds which of the comments the page shows (`ids=1,2,3`), for the list to grey
    rows out and free them again without a reload, and for a card someone else holds to be
    drawn again when they let go or go idle. Only comments of the user's sites are told."""
    ids = [i for i in map(parse_id, (request.args.get("ids") or "").split(",")[:MAX_IDS]) if i]
    held = claims.claimed_by_others(ids, current_user.id)
    if held and not current_user.is_admin:
        visible = set(db.session().scalars(select(Comment.id).where(
            Comment.id.in_(list(held)), Comment.site_id.in_(current_user.site_ids or {-1}))))
        held = {c: h for c, h in held.items() if c in visible}
    badge = get_template_attribute("review/_row.html", "holder_badge")
    return jsonify(held={str(c): {"name": h.name, "idle": h.idle, "html": str(badge(h))}
                         for c, h in held.items()})
