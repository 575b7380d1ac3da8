"""The moderators' review queue (/review): the queue with tabs and filters, one comment's
card, and the decisions. Every route checks the user's role and site scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.orm import selectinload

from models.normalize import search_key
from service import bans, db, escalation, moderation
from service import review_claims as claims
from service import review_decisions as decisions
from service.auth import safe_next
from service.params import parse_id
from service.review_claims import claim, claimed_by_others, release
from service.review_labels import (
    FLAG_LABELS,
    actor_label,
    category_label,
    flag_label,
    language_label,
    reason_label,
    status_label,
    top_category,
)
from service.review_view import QueueView, current_comment_arg
from service.storage import Article, Comment, CommentStatus, ModerationAction, Site
from service.storage.tables import PUBLISHED, utcnow
from service.worddiff import changed_words, word_diff

bp = Blueprint("review", __name__, url_prefix="/review")

PAGE_SIZE = 25
# "Flagged": something found (each concern weighs ≥ 1 in the priority; a small classifier
# risk alone does not reach it).
FLAGGED_PRIORITY = 1.0
# Labels are lazy: read in the request's language when the page is drawn.
TABS: dict[str, tuple[LazyString, list[str]]] = {
    "pending": (_l("Pending"), [CommentStatus.pending]),
    "flagged": (_l("Flagged"), [CommentStatus.pending]),
    # Pending comments a moderator handed to a senior editor (service/escalation.py).
    "escalated": (_l("Escalated"), [CommentStatus.pending]),
    "auto_rejected": (_l("Auto-rejected"), [CommentStatus.auto_rejected]),
    "approved": (_l("Approved"), [CommentStatus.approved, CommentStatus.auto_approved]),
    "rejected": (_l("Rejected"), [CommentStatus.rejected]),
    "removed": (_l("Removed"), [CommentStatus.removed]),
}


# The reasons a moderator rejects with, numbered: `r` then the number picks one, the same
# key in every language (first letters collided: "Kích động" and "Khác" in Vietnamese,
# "Insulting" and "Incitement" in English). "Author is banned" is the ban's own reason.
REASON_KEYS: list[tuple[str, str, LazyString]] = [
    (str(n), key, label) for n, (key, label) in enumerate(
        ((k, v) for k, v in moderation.REJECT_REASONS.items() if k != "banned"), start=1)]


# --- queries ------------------------------------------------------------------------------

def _scoped(query):  # noqa: ANN001, ANN202
    if not current_user.is_admin:
        query = query.where(Comment.site_id.in_(current_user.site_ids or {-1}))
    return query


def _visible_sites() -> list[Site]:
    query = select(Site).order_by(Site.name)
    if not current_user.is_admin:
        query = query.where(Site.id.in_(current_user.site_ids or {-1}))
    return list(db.session().scalars(query))


# The flags a moderator can filter the queue by (labels: service/review_labels.py).
FLAG_FILTERS: dict[str, LazyString] = {key: FLAG_LABELS[key] for key in (
    "missing_diacritics", "spam", "offensive", "hate", "link", "phone", "contact_handle",
    "banned_word", "suspect_word", "repeat", "near_duplicate", "burst", "foreign_language",
)}


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name))


def _folded_match(column, text: str):  # noqa: ANN001, ANN202
    """`text` found in a search column (models.normalize.search_key) whatever its accents
    and case; % and _ are plain characters. Three characters or more match anywhere (a
    trigram index serves it on PostgreSQL); shorter, a whole word ("xe" is not in "xem"),
    which a trigram index serves too. Without a letter or digit ("%", "?!") nothing
    matches: no index could serve it, and it would read every comment of the sites."""
    key = search_key(text)
    if not key:  # only spaces: nothing to look for
        return true()
    if not any(c.isalnum() for c in key):
        return false()
    needle = key.strip()
    return column.contains(needle if len(needle) >= 3 else key, autoescape=True)


@dataclass
class Filters:
    site_id: int | None = None
    flag: str | None = None
    author: str | None = None
    q: str | None = None
    # One article (from a card's "this article" link), or articles by external id / title.
    article_id: int | None = None
    article: str | None = None

    @classmethod
    def from_args(cls) -> Filters:
        flag = request.args.get("flag") or None
        return cls(
            site_id=_int_arg("site"),
            flag=flag if flag in FLAG_FILTERS else None,
            author=(request.args.get("author") or "").strip()[:200] or None,
            q=(request.args.get("q") or "").strip()[:200] or None,
            article_id=_int_arg("article_id"),
            article=(request.args.get("article") or "").strip()[:200] or None,
        )

    def apply(self, query):  # noqa: ANN001, ANN201
        if self.site_id is not None:
            query = query.where(Comment.site_id == self.site_id)
        if self.article_id is not None:
            query = query.where(Comment.article_id == self.article_id)
        if self.article:
            query = query.where(Comment.article_id.in_(select(Article.id).where(or_(
                Article.external_id == self.article,
                _folded_match(Article.title_folded, self.article)))))
        if self.flag:
            query = query.where(Comment.flags.like(f"% {self.flag} %"))
        if self.author:
            query = query.where(_folded_match(Comment.author_folded, self.author))
        if self.q:
            query = query.where(_folded_match(Comment.search_folded, self.q))
        return query

    def args(self) -> dict[str, Any]:
        return {k: v for k, v in (("site", self.site_id), ("flag", self.flag),
                                  ("author", self.author), ("q", self.q),
                                  ("article_id", self.article_id), ("article", self.article))
                if v is not None}


def _queue_query(tab: str, filters: Filters, order: str):  # noqa: ANN202
    statuses = TABS[tab][1]
    query = filters.apply(_scoped(select(Comment).where(Comment.status.in_(statuses))))
    if tab == "flagged":
        query = query.where(Comment.priority >= FLAGGED_PRIORITY)
    if tab in ("pending", "flagged"):
        query = query.where(Comment.escalated_at.is_(None))  # those wait in "escalated"
    if tab == "escalated":
        # Read off ix_comments_escalated: the longest waiting first.
        return query.where(Comment.escalated_at.is_not(None)).order_by(Comment.escalated_at,
                                                                        Comment.id)
    if order == "oldest" or tab not in ("pending", "flagged"):
        return query.order_by(Comment.received_at.desc() if tab in (
            "approved", "rejected", "auto_rejected", "removed") else Comment.received_at,
            Comment.id)
    if order == "uncertain":
        # Closest to a decision boundary first (read off ix_comments_pending_certainty);
        # comments the classifier did not score come last.
        return query.order_by(Comment.certainty.asc().nulls_last(), Comment.received_at,
                              Comment.id)
    return query.order_by(Comment.priority.desc(), Comment.received_at, Comment.id)


def _counts(filters: Filters) -> dict[str, int]:
    # One pass over the matching rows (a search or flag filter reads them from the table):
    # each status's count, and the flagged ones among the pending.
    flagged = case((and_(Comment.status == CommentStatus.pending,
                         Comment.priority >= FLAGGED_PRIORITY), 1), else_=0)
    query = filters.apply(_scoped(select(Comment.status, func.count(), func.sum(flagged))
                                  .group_by(Comment.status)))
    rows = db.session().execute(query).all()
    by_status = {status: n for status, n, _ in rows}
    counts = {tab: sum(by_status.get(s, 0) for s in statuses)
              for tab, (_, statuses) in TABS.items()}
    counts["flagged"] = sum(int(n or 0) for _, _, n in rows)
    # Escalated comments wait in their own tab. Counted apart (a few rows, off
    # ix_comments_escalated) and subtracted: the counts above stay index-only scans.
    escalated = filters.apply(_scoped(select(
        func.count(), func.coalesce(func.sum(case((Comment.priority >= FLAGGED_PRIORITY, 1),
                                                  else_=0)), 0)).where(
        Comment.status == CommentStatus.pending, Comment.escalated_at.is_not(None))))
    counts["escalated"], escalated_flagged = db.session().execute(escalated).one()
    counts["pending"] -= counts["escalated"]
    counts["flagged"] -= escalated_flagged
    return counts


def _get_visible(comment_id: int) -> Comment:
    comment = db.session().get(Comment, comment_id, options=[selectinload(Comment.article)])
    # Another site's comment is "not found", not "forbidden": ids must not leak.
    if comment is None or not current_user.can_see_site(comment.site_id):
        abort(404)
    return comment


VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@bp.app_template_filter("vntime")
def vietnam_time(value: datetime | None) -> str:
    """Dates as the newsroom reads them: Vietnam time, day first."""
    return value.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else ""


@bp.app_template_filter("ago")
def ago(value: datetime | None) -> str:
    """How long ago, as a queue row says it: "vừa xong", "5 phút", "3 giờ", "2 ngày"."""
    if value is None:
        return ""
    minutes = int((utcnow() - value).total_seconds() // 60)
    if minutes < 1:
        return _("just now")
    if minutes < 60:
        return ngettext("%(num)d min", "%(num)d min", minutes)
    if minutes < 48 * 60:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d day", "%(num)d days", minutes // (24 * 60))


# Codes stored with a comment, shown as words: {{ c.status|status_label }}.
bp.add_app_template_filter(status_label, "status_label")
bp.add_app_template_filter(flag_label, "flag_label")
bp.add_app_template_filter(category_label, "category_label")
bp.add_app_template_filter(language_label, "language_label")
bp.add_app_template_filter(actor_label, "actor_label")
bp.add_app_template_filter(reason_label, "reason_label")
bp.add_app_template_filter(top_category, "top_category")
bp.add_app_template_filter(escalation.action_label, "escalation_label")


@dataclass
class Segment:
    text: str
    kinds: tuple[str, ...] = ()


def highlight(text: str, spans: list[dict[str, Any]]) -> list[Segment]:
    """Split `text` at the span boundaries; the template escapes every segment."""
    cuts = {0, len(text)}
    for span in spans:
        if 0 <= span.get("start", -1) < span.get("end", -1) <= len(text):
            cuts.update((span["start"], span["end"]))
    points = sorted(cuts)
    segments = []
    for a, b in zip(points, points[1:], strict=False):
        kinds = tuple(sorted({s.get("kind", "") for s in spans
                              if s.get("start", -1) <= a and b <= s.get("end", -1)}))
        segments.append(Segment(text[a:b], kinds))
    return segments


# --- views --------------------------------------------------------------------------------

@bp.get("")
@login_required
def queue():  # noqa: ANN201
    """The workspace: the queue on the left, the open comment (`c=`) on the right."""
    view = QueueView.from_args()
    filters = view.filters
    if filters.site_id is not None and not current_user.can_see_site(filters.site_id):
        abort(404)
    comments = list(db.session().scalars(
        _queue_query(view.tab, filters, view.order).options(selectinload(Comment.article))
        .offset((view.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    ))
    has_next = len(comments) > PAGE_SIZE
    comments = comments[:PAGE_SIZE]
    busy = claimed_by_others([c.id for c in comments], current_user.id)
    article = None
    if filters.article_id is not None:
        article = db.session().get(Article, filters.article_id)
        if article is None or not current_user.can_see_site(article.site_id):
            abort(404)
    open_id = current_comment_arg()
    card = _card_context(_get_visible(open_id), view) if open_id else None
    return render_template(
        "review/queue.html", view=view, comments=comments, busy=busy, tabs=TABS,
        counts=_counts(filters), sites=_visible_sites(), filters=filters,
        has_next=has_next, flag_filters=FLAG_FILTERS, article=article, card=card,
        reasons=REASON_KEYS,
        cursor=utcnow().isoformat(), poll_ms=int(current_app.config["REVIEW_POLL_SECONDS"] * 1000),
        # New rows slot in only where they belong: the first page of the waiting queue.
        live_rows=view.tab in ("pending", "flagged") and view.page == 1,
    )


# Arrivals are found by analysis time; the overlap covers a worker's commit landing after
# the poll that should have seen it (the page skips rows it already shows).
ARRIVALS_OVERLAP = timedelta(seconds=30)
MAX_ARRIVALS = PAGE_SIZE
ARRIVALS_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@bp.get("/arrivals")
@login_required
def arrivals():  # noqa: ANN201
    """What changed since the page was drawn: tab counts, and comments that became
    pending since `since` (rendered rows, escaped like the page), for the queue to poll."""
    view = QueueView.from_args()
    tab, filters = view.tab, view.filters
    try:
        since = datetime.fromisoformat(request.args.get("since", ""))
    except ValueError:
        return jsonify(error={"code": "bad_request", "message": "since must be an ISO 8601 time",
                              "fields": {"since": ["not an ISO 8601 time"]}}), 400
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    since = max(since, ARRIVALS_EPOCH)  # no overflow when the overlap is subtracted
    if filters.site_id is not None and not current_user.can_see_site(filters.site_id):
        abort(404)
    cursor = utcnow()
    more = False
    items: list[dict[str, Any]] = []
    if tab in ("pending", "flagged"):
        query = filters.apply(_scoped(select(Comment).where(
            Comment.status == CommentStatus.pending, Comment.escalated_at.is_(None),
            Comment.analysed_at > since - ARRIVALS_OVERLAP)))
        if tab == "flagged":
            query = query.where(Comment.priority >= FLAGGED_PRIORITY)
        fresh = list(db.session().scalars(
            query.options(selectinload(Comment.article))
            .order_by(Comment.analysed_at, Comment.id).limit(MAX_ARRIVALS)))
        busy = claimed_by_others([c.id for c in fresh], current_user.id)
        row = get_template_attribute("review/_row.html", "row")
        items = [{"id": c.id, "html": str(row(c, busy, view, new=True))} for c in fresh]
        if len(fresh) == MAX_ARRIVALS:
            # More arrived than one answer carries: continue from the last one shown, and
            # let the page say that a reload shows them all.
            more = True
            cursor = fresh[-1].analysed_at or cursor
    return jsonify(cursor=cursor.isoformat(), counts=_counts(filters), items=items, more=more)


def _next_in_queue(view: QueueView, after: Comment) -> int | None:
    """The comment to open after deciding `after`: the one the moderator's list shows next
    (sent by the page as `next`), else the first of the same view — same tab, filters and
    order — that nobody else holds."""
    hinted = parse_id(request.form.get("next"))
    if view.tab not in ("pending", "flagged", "escalated"):
        return None  # deciding from a done tab (undo, remove) keeps the card
    query = _queue_query(view.tab, view.filters, view.order).where(Comment.id != after.id)
    if hinted is not None:
        found = db.session().scalar(query.where(Comment.id == hinted).with_only_columns(
            Comment.id))
        if found is not None and not claimed_by_others([found], current_user.id):
            return found
    candidates = list(db.session().scalars(query.with_only_columns(Comment.id).limit(20)))
    busy = claimed_by_others(candidates, current_user.id)
    return next((c for c in candidates if c not in busy), None)


@bp.get("/<int:comment_id>")
@login_required
def card(comment_id: int):  # noqa: ANN201
    return _card_page(_get_visible(comment_id), QueueView.from_args())


@bp.get("/<int:comment_id>/pane")
@login_required
def pane(comment_id: int):  # noqa: ANN201
    """The card alone, for the workspace's right pane (htmx)."""
    view = QueueView.from_args()
    return render_template("review/_card.html", card=_card_context(_get_visible(comment_id), view),
                           view=view)


def _card_page(comment: Comment, view: QueueView, entered: dict[str, str] | None = None
               ) -> str:
    """The comment's card on a page of its own."""
    return render_template("review/card.html", card=_card_context(comment, view, entered),
                           view=view, tabs=TABS)


def _card_context(comment: Comment, view: QueueView, entered: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    """What a card shows; `entered` is what the moderator typed into a form the server
    refused (the edited text, a reason and note), shown again rather than lost."""
    # Reading an escalated comment one cannot decide does not claim it from the seniors.
    read_only = comment.escalated_at is not None and not current_user.resolves_escalations
    token = claims.new_token()
    held = None if read_only else claims.hold(comment.id, current_user.id,
                                              current_user.username, token=token, opening=True)
    held_by_other = held is not None and held.user_id != current_user.id
    analysis = comment.analysis or {}
    text = comment.body_normalized or comment.body_original
    history = list(db.session().execute(
        select(Comment.id, Comment.status, Comment.received_at).where(
            Comment.site_id == comment.site_id, Comment.author_email == comment.author_email,
            Comment.id != comment.id).order_by(Comment.id.desc()).limit(10)))
    # All of the author's comments on this site by status (ix_comments_author_email).
    history_counts = dict(db.session().execute(
        select(Comment.status, func.count()).where(
            Comment.site_id == comment.site_id, Comment.author_email == comment.author_email)
        .group_by(Comment.status)).all())
    audit = list(db.session().scalars(
        select(ModerationAction).where(ModerationAction.comment_id == comment.id)
        .order_by(ModerationAction.id)))
    diacritics = (analysis.get("phases") or {}).get("diacritics") or {}
    diff = None
    if diacritics.get("verdict") == "missing" and diacritics.get("suggestion"):
        diff = word_diff(comment.body_original, diacritics["suggestion"])
    return dict(
        comment=comment, view=view, analysis=analysis,
        segments=highlight(text, analysis.get("spans", [])),
        diacritics=diacritics, diff=diff, diff_changes=changed_words(diff or []),
        held_by_other=held_by_other, history=history, audit=audit,
        claim=held, claim_token=None if held_by_other or read_only else token,
        can_take_over=held_by_other and claims.can_take_over(current_user, held.idle),
        takeovers=claims.takeovers(comment.id),
        history_counts=history_counts,
        duplicates=_duplicates(comment, analysis),
        generic=_generic(analysis),
        article_pending=db.session().scalar(select(func.count()).select_from(Comment).where(
            Comment.article_id == comment.article_id,
            Comment.status == CommentStatus.pending)),
        reasons=REASON_KEYS, decidable=comment.status in moderation.DECIDABLE and (
            comment.escalated_at is None or current_user.resolves_escalations),
        escalatable=comment.status == CommentStatus.pending and comment.escalated_at is None,
        escalations=escalation.history(db.session(), comment.id),
        removable=comment.status in PUBLISHED,
        remove_reasons=moderation.REMOVE_REASONS, entered=entered or {},
    )


MAX_DUPLICATES = 20


def _generic(analysis: dict[str, Any]) -> dict[str, Any] | None:
    """When the repeats phase found near-duplicates of a generic text (workers/pipeline/
    repeats.py generic_reason): why, how many, and whether they crowded this article."""
    repeats = (analysis.get("phases") or {}).get("repeats") or {}
    reason = repeats.get("generic_text")
    if reason not in ("little_content", "common_phrase"):
        return None
    matches = repeats.get("generic_matches")
    return {"reason": reason, "matches": matches if isinstance(matches, int) else 0,
            "crowded": "near_duplicate" in (analysis.get("flags") or [])}


def _duplicates(comment: Comment, analysis: dict[str, Any]) -> list[Comment]:
    """The same text again (any author, either direction in time) and the near-duplicates
    the pipeline found among earlier comments: what coordinated posting looks like."""
    repeats = (analysis.get("phases") or {}).get("repeats") or {}
    related = {i for i in (parse_id(str(x)) for x in [*repeats.get("near_duplicates", []),
                                                       *repeats.get("repeat_of", [])]) if i}
    same_text = Comment.text_key == comment.text_key if comment.text_key else false()
    return list(db.session().scalars(
        select(Comment).where(Comment.site_id == comment.site_id, Comment.id != comment.id,
                              or_(Comment.id.in_(related), same_text))
        .order_by(Comment.id.desc()).limit(MAX_DUPLICATES)))


def _htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _in_workspace() -> bool:
    """The request comes from the two-pane queue (its pane is #pane), not a card's own page,
    which has no list or tabs to bring up to date."""
    return request.headers.get("HX-Target") == "pane"


def _pane(card: dict[str, Any] | None, view: QueueView, **extra: Any) -> str:
    """The workspace's right pane (htmx): the card, and the tabs and toast brought along."""
    workspace = _in_workspace()
    return render_template("review/_pane.html", card=card, view=view, tabs=TABS,
                           workspace=workspace,
                           counts=_counts(view.filters) if workspace else None, **extra)


def _stay(comment: Comment, view: QueueView, message: str, category: str = "error",
          status: int = 409):
    """After an action on a card that leaves it open (a refusal, a removal, a ban): the
    card again with the message — in the pane, or the page the moderator came from."""
    flash(message, category)
    if _htmx():
        return _pane(_card_context(comment, view), view), status
    return redirect(view.queue_url(comment.id), 303)


def _refused_text(comment: Comment, view: QueueView, exc: moderation.ModerationError,
                  form: str):  # noqa: ANN202
    """The card again with the moderator's text and the reason it was refused."""
    flash(str(exc), "error")
    entered = {"form": form, **{k: request.form.get(k, "") for k in ("body", "reason", "note")}}
    if _htmx():
        return _pane(_card_context(comment, view, entered), view), exc.status
    return _card_page(comment, view, entered), exc.status


def _moved_on(comment: Comment, view: QueueView, action: str):  # noqa: ANN202
    """A decision made: remember it for the undo toast, and open the next comment of the
    view (in the pane, or the workspace page)."""
    decisions.remember(comment.id, action)
    next_id = _next_in_queue(view, comment)
    if _htmx():
        card = _card_context(_get_visible(next_id), view) if next_id else None
        response = make_response(_pane(card, view, decided=comment.id))
        # A card's own page moves on to the next card's page, the workspace to its queue.
        response.headers["HX-Push-Url"] = (
            view.queue_url(next_id) if _in_workspace() or not next_id
            else url_for("review.card", comment_id=next_id, **view.args()))
        return response
    return redirect(view.queue_url(next_id), 303)


def _act(comment_id: int, action, form: str, done: str):  # noqa: ANN001, ANN202
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    if comment.escalated_at is not None and not current_user.resolves_escalations:
        return _stay(comment, view, escalation.only_seniors(), status=403)
    if (refused := claims.refusal(comment_id, current_user)) is not None:
        return _stay(comment, view, refused)
    try:
        action(comment)
    except moderation.ModerationError as exc:
        if exc.status == 422:
            return _refused_text(comment, view, exc, form)
        return _stay(comment, view, str(exc), status=exc.status)
    release(comment_id, current_user.id)
    return _moved_on(comment, view, done)


@bp.post("/<int:comment_id>/approve")
@login_required
def approve(comment_id: int):  # noqa: ANN201
    edited = request.form.get("body")
    return _act(comment_id, lambda c: moderation.approve(
        db.session(), c, current_user.id, current_user.username, edited), "approve",
        CommentStatus.approved)


@bp.post("/<int:comment_id>/reject")
@login_required
def reject(comment_id: int):  # noqa: ANN201
    return _act(comment_id, lambda c: moderation.reject(
        db.session(), c, current_user.id, current_user.username,
        request.form.get("reason", ""), request.form.get("note")), "reject",
        CommentStatus.rejected)


@bp.post("/<int:comment_id>/remove")
@login_required
def remove(comment_id: int):  # noqa: ANN201
    """Take a published comment down; the card stays open (undo is one click away)."""
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    if (refused := claims.refusal(comment_id, current_user)) is not None:
        return _stay(comment, view, refused)
    try:
        moderation.remove(db.session(), comment, current_user.id, current_user.username,
                          request.form.get("reason", ""), request.form.get("note"))
    except moderation.ModerationError as exc:
        if exc.status == 422:
            return _refused_text(comment, view, exc, "remove")
        return _stay(comment, view, str(exc), status=exc.status)
    finally:
        release(comment_id, current_user.id)
    decisions.remember(comment.id, CommentStatus.removed)
    return _stay(comment, view, _("Removed: sites no longer show this comment."), "ok", 200)


@bp.post("/<int:comment_id>/ban")
@login_required
def ban(comment_id: int):  # noqa: ANN201
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    try:
        rejected = moderation.ban_author(
            db.session(), comment, current_user.id, current_user.username,
            by_email=bool(request.form.get("email")), by_ip=bool(request.form.get("ip")),
            reject_pending=bool(request.form.get("reject_pending")),
            duration=request.form.get("duration", bans.DEFAULT_DURATION),
            reason=request.form.get("note"))
    except moderation.ModerationError as exc:
        if exc.status == 422:  # the reason refused: the card again with what was typed
            return _refused_text(comment, view, exc, "ban")
        return _stay(comment, view, str(exc), status=exc.status)
    # Read again: the ban may have rejected this very comment (its pending ones).
    comment = db.session().get(Comment, comment_id, populate_existing=True) or comment
    return _stay(comment, view, ngettext(
        "Author banned; %(num)d pending comment rejected.",
        "Author banned; %(num)d pending comments rejected.", rejected), "ok", 200)


@bp.post("/<int:comment_id>/undo")
@login_required
def undo(comment_id: int):  # noqa: ANN201
    """Reverse this moderator's last decision on the comment (the toast's undo, or `u`);
    the comment opens again, wherever the moderator is."""
    view = QueueView.from_args()
    comment = _get_visible(comment_id)
    try:
        moderation.undo(db.session(), comment, current_user.id, current_user.username)
    except moderation.ModerationError as exc:
        decisions.forget(comment_id)
        return _stay(comment, view, str(exc), status=exc.status)
    decisions.forget(comment_id)
    db.session().refresh(comment)  # the conditional UPDATE left the loaded copy as it was
    flash(_("Undone: #%(id)d is back where it was.", id=comment_id), "ok")
    if _htmx() and _in_workspace():
        # The comment comes back to the list it left: the queue page again, with it open.
        response = make_response("", 200)
        response.headers["HX-Redirect"] = view.queue_url(comment_id)
        return response
    if _htmx():
        response = make_response(_pane(_card_context(comment, view), view))
        response.headers["HX-Push-Url"] = url_for("review.card", comment_id=comment_id,
                                                  **view.args())
        return response
    return redirect(view.queue_url(comment_id), 303)


MAX_BULK = 100


@bp.post("/bulk")
@login_required
def bulk():  # noqa: ANN201
    """Approve or reject a selection from the queue; comments others hold or that were
    decided meanwhile are skipped and counted."""
    action = request.form.get("action")
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i][:MAX_BULK]
    reason = request.form.get("reason", "")
    back = safe_next(request.form.get("back"))
    if action not in ("approve", "reject") or not ids:
        flash(_("Select comments and an action."), "error")
        return redirect(back, 303)
    if action == "reject" and reason not in moderation.REJECT_REASONS:
        flash(_("Choose a reason for rejecting."), "error")
        return redirect(back, 303)
    done = skipped = 0
    session = db.session()
    for comment_id in ids:
        comment = session.get(Comment, comment_id)
        if comment is None or not current_user.can_see_site(comment.site_id):
            abort(404)
        if comment.escalated_at is not None and not current_user.resolves_escalations:
            skipped += 1  # waits for a senior editor
            continue
        if claim(comment_id, current_user.id) != current_user.id:
            skipped += 1
            continue
        try:
            if action == "approve":
                moderation.approve(session, comment, current_user.id, current_user.username)
            else:
                moderation.reject(session, comment, current_user.id, current_user.username,
                                  reason)
            done += 1
        except moderation.ModerationError:
            skipped += 1
        finally:
            release(comment_id, current_user.id)
    flash(_bulk_message(action, done, skipped), "ok")
    return redirect(back, 303)


def _bulk_message(action: str, done: int, skipped: int) -> str:
    # Whole sentences, one per case: translators need them, not glued fragments.
    if action == "approve":
        if skipped:
            return ngettext("Approved %(num)d comment, skipped %(skipped)d.",
                            "Approved %(num)d comments, skipped %(skipped)d.", done,
                            skipped=skipped)
        return ngettext("Approved %(num)d comment.", "Approved %(num)d comments.", done)
    if skipped:
        return ngettext("Rejected %(num)d comment, skipped %(skipped)d.",
                        "Rejected %(num)d comments, skipped %(skipped)d.", done,
                        skipped=skipped)
    return ngettext("Rejected %(num)d comment.", "Rejected %(num)d comments.", done)


# Their routes join this blueprint (they import it, so they come last).
from service import review_claim_views, review_escalation  # noqa: E402, F401, I001
