"""The review queue's escalation routes (service/escalation.py): a moderator escalates a
pending comment with a note; a senior editor or an administrator sends it back to the
queue with a note (or decides it with the ordinary approve/reject, service/review.py)."""

from __future__ import annotations

from flask import flash, make_response, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from service import db, escalation, moderation
from service.review import (
    _card_context,
    _get_visible,
    _htmx,
    _next_in_queue,
    _pane,
    _refused_text,
    _stay,
    bp,
    claim,
    release,
)
from service.review_view import QueueView
from service.storage import Comment


def _run(comment_id: int, step, form: str, done: str, seniors_only: bool):  # noqa: ANN001, ANN202
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    if seniors_only and not current_user.resolves_escalations:
        return _stay(comment, view, escalation.only_seniors(), status=403)
    if claim(comment_id, current_user.id) != current_user.id:
        return _stay(comment, view, _("This comment is being handled by another moderator."))
    try:
        step(comment)
    except moderation.ModerationError as exc:
        if exc.status == 422:
            return _refused_text(comment, view, exc, form)
        return _stay(comment, view, str(exc), status=exc.status)
    finally:
        release(comment_id, current_user.id)
    # Like a decision: on to the next comment of the moderator's view.
    flash(done, "ok")
    next_id = _next_in_queue(view, comment)
    if _htmx():
        card = _card_context(_get_visible(next_id), view) if next_id else None
        response = make_response(_pane(card, view, decided=comment_id))
        response.headers["HX-Push-Url"] = view.queue_url(next_id)
        return response
    return redirect(view.queue_url(next_id), 303)


@bp.post("/<int:comment_id>/escalate")
@login_required
def escalate(comment_id: int):  # noqa: ANN201
    def step(comment: Comment) -> None:
        escalation.escalate(db.session(), comment, current_user.id, current_user.username,
                            request.form.get("note"))
    return _run(comment_id, step, "escalate",
                _("#%(id)d is waiting for a senior editor.", id=comment_id), False)


@bp.post("/<int:comment_id>/send-back")
@login_required
def send_back(comment_id: int):  # noqa: ANN201
    def step(comment: Comment) -> None:
        escalation.send_back(db.session(), comment, current_user.id, current_user.username,
                             request.form.get("note"))
    return _run(comment_id, step, "send_back",
                _("#%(id)d is back in the queue.", id=comment_id), True)
