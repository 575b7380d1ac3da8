"""The claim's routes on the review blueprint: the open card's heartbeat, the release (a
beacon when the page goes away, or the pane moving to another card), and the take-over
(audited). Imported at the bottom of service/review.py; the rules: service/review_claims.py."""

from __future__ import annotations

from flask import flash, jsonify, make_response, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from service import db
from service import review_claims as claims
from service.review import _card_context, _get_visible, _htmx, _pane, bp
from service.review_view import QueueView
from service.storage import AuditEntry

MAX_TOKEN = 40


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
