"""Untrusted text is bidi-isolated wherever staff see it: a name starting with U+202E (RIGHT-
TO-LEFT OVERRIDE) reversed the rest of its queue row, article title included. The intake now
refuses bidi controls, but rows stored before (or written by other tools) still hold them, so
every page isolates: each text holding the override sits in a <bdi> or an element with a
`dir` attribute (or in an element that is a line of its own: an option, a textarea, the
title). Checked on every GET page of the review queue and the admin console here, and in
Chromium for the row the defect was found in (tests/browser/test_bidi_browser.py)."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import update

from service.storage import (
    Article,
    AuditEntry,
    Ban,
    Comment,
    CommentStatus,
    ModerationAction,
    TrainingExample,
    User,
)
from service.storage.tables import utcnow
from tests.admin.test_admin_permissions import fill, world  # noqa: F401 - the world fixture
from tests.test_review import login, ui  # noqa: F401 - the ui fixture

RLO = "\u202e"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Elements that are a line of their own (or not laid out at all).
OWN_LINE = {"option", "textarea", "title", "script", "style", "template"}


class _Isolation(HTMLParser):
    """Collects each text (and visible attribute) holding RLO that has no isolating
    element around it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.bare: list[str] = []

    def _isolated(self) -> bool:
        return any(isolates for _, isolates in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        isolates = tag == "bdi" or "dir" in names or tag in OWN_LINE
        shown = ("type", "hidden") not in attrs
        for name, value in attrs:  # an input's value is shown as text in its own box
            if shown and value and RLO in value and name in ("value", "placeholder") and not (
                    isolates or "dir" in names):
                self.bare.append(f"<{tag} {name}={value!r}>")
        if tag not in VOID:
            self.stack.append((tag, isolates))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if RLO in data and not self._isolated():
            path = "/".join(tag for tag, _ in self.stack[-4:])
            self.bare.append(f"{path}: {data.strip()[:60]!r}")


def _poison(sessions, ids: dict[str, int]) -> None:  # noqa: ANN001
    """What a reader, a receiver or a staff member could have stored before the rules."""
    with sessions() as s:
        s.execute(update(Comment).where(Comment.id == ids["comment"]).values(
            author_name=f"{RLO}Lan", author_email=f"{RLO}lan@example.vn",
            body_original=f"Bài viết {RLO}rất hay", body_normalized=f"Bài viết {RLO}rất hay",
            body_published=f"Bài viết {RLO}rất hay đã sửa", status=CommentStatus.approved,
            analysis={"flags": [], "phases": {"diacritics": {
                "verdict": "missing", "suggestion": f"Bài viết {RLO}rất hay"}}},
            escalated_at=utcnow(), escalated_by=f"{RLO}bientap",
            escalation_note=f"{RLO}nhờ xem"))
        s.add(AuditEntry(actor=f"{RLO}bientap", action="comment.escalate", target_type="comment",
                         target_id=str(ids["comment"]), details={"note": f"{RLO}nhờ xem"}))
        s.execute(update(Article).where(Article.id == ids["article"]).values(
            title=f"{RLO}Tin tức hôm nay", external_id=f"{RLO}tin-1"))
        s.execute(update(ModerationAction).where(ModerationAction.id == ids["action"]).values(
            reason=f"spam: {RLO}ghi chú", actor=f"{RLO}bientap"))
        s.execute(update(User).where(User.id == ids["user"]).values(username=f"{RLO}bientap"))
        s.execute(update(TrainingExample).where(TrainingExample.id == ids["example"]).values(
            text=f"Vay tiền {RLO}nhanh", source=f"{RLO}nhap.csv"))
        s.execute(update(AuditEntry).where(AuditEntry.id == ids["audit"]).values(
            actor=f"{RLO}quantri"))
        s.execute(update(Ban).where(Ban.id == ids["ban"]).values(
            email=f"{RLO}spam@example.vn", ip=f"{RLO}10.0.0.1", reason=f"{RLO}lý do"))
        s.commit()


def _get_pages(app) -> list[str]:  # noqa: ANN001
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and rule.rule.startswith(("/review", "/admin")) \
                and not rule.rule.endswith((".json", ".svg", ".png", ".csv", "/export",
                                            "/arrivals")):
            rules.append(rule.rule)
    return sorted(set(rules))


def test_every_staff_page_isolates_untrusted_text(world, sessions) -> None:  # noqa: ANN001, F811
    app, ids = world
    _poison(sessions, ids)
    admin = app.test_client()
    assert login(admin, "quantri").status_code == 302
    pages = [fill(rule, ids) for rule in _get_pages(app)]
    pages += [f"/review?tab={tab}" for tab in ("approved", "all")]
    pages += [f"/review?article_id={ids['article']}", "/admin/training?q=Vay"]
    assert f"/review/{ids['comment']}" in pages and "/admin/users" in pages
    bare: dict[str, list[str]] = {}
    seen = 0
    for path in pages:
        r = admin.get(path)
        if r.mimetype != "text/html":
            continue
        html = r.get_data(as_text=True)
        seen += html.count(RLO)
        parser = _Isolation()
        parser.feed(html)
        if parser.bare:
            bare[path] = parser.bare
    assert seen >= 10  # the poisoned rows are shown (the check is not vacuous)
    assert bare == {}
