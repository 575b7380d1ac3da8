"""Staff input passes the same text rules as readers' input (service/text_rules.py): every
form of the review queue and the admin console, found in the app's URL map, refuses a NUL,
ESC, U+0085 or a bidi override in any text it would store — a clear answer, never a 500
(PostgreSQL cannot hold a NUL) — and nothing with such a character reaches the database."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, String, Text, select, update

from service.storage import Base, Comment, CommentStatus, ModerationAction
from tests.admin.test_admin_permissions import fill, world  # noqa: F401 - the world fixture
from tests.test_review import csrf, login, ui  # noqa: F401 - the ui fixture

POISONS = {"NUL": "\x00", "ESC": "\x1b", "NEL": "\x85", "RLO": "\u202e"}
# Free text a staff form may carry (what the views read with request.form.get).
TEXT_KEYS = ("name", "domain", "allowed_origins", "username", "password", "phrase", "text",
             "note", "body", "webhook_url", "back", "next", "file", "text_column",
             "label_column", "threshold", "max_length", "auto_approve_below", "email", "ip")
# Choices, valid, so that a view goes on to read its free text.
CHOICES = {"reason": "spam", "kind": "banned", "op": "exclude", "action": "reject",
           "role": "moderator", "label": "spam", "category": "spam", "format": "csv",
           "diacritics_policy": "flag", "status": "pending", "confirm": "1", "active": "1",
           "sites": "", "lang": "vi", "version": "default"}


def staff_post_routes(app) -> list[tuple[str, str]]:  # noqa: ANN001
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and rule.rule.startswith(("/admin", "/review",
                                                                       "/login", "/lang")):
            found.append((rule.endpoint, rule.rule))
    return sorted(found)


def _text_cells(sessions) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """Every string stored: text columns, and the strings inside JSON columns."""
    cells = []
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in s.execute(select(*columns)).all() if columns else ():
                for column, value in zip(columns, row, strict=True):
                    cells += [(table.name, column.name, v) for v in _strings(value)]
    return cells


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("poison", POISONS, ids=str)
def test_no_staff_form_stores_a_refused_character_or_fails(world, sessions, poison) -> None:  # noqa: ANN001, F811
    app, ids = world
    admin = app.test_client()
    assert login(admin, "quantri").status_code == 302
    token = csrf(admin.get("/review").get_data(as_text=True))
    ch = POISONS[poison]
    routes = staff_post_routes(app)
    assert {"review.approve", "review.reject", "auth.login", "admin.wordlists_add"} <= {
        endpoint for endpoint, _ in routes}
    failures = []
    for endpoint, rule in routes:
        # The comment waits again before each request, so every decision reads its text.
        status = CommentStatus.approved if endpoint == "review.remove" else CommentStatus.pending
        with sessions() as s:
            s.execute(update(Comment).where(Comment.id == ids["comment"]).values(status=status))
            s.commit()
        data = {key: f"Bài viết{ch}hay" for key in TEXT_KEYS}
        data.update(CHOICES, csrf_token=token, site=str(ids["site"]), ids=str(ids["comment"]),
                    keys=f"i:{ids['example']}")
        r = admin.post(fill(rule, ids), data=data)
        if r.status_code >= 500:
            failures.append(f"{endpoint}: {r.status_code}")
    assert failures == [], failures
    stored = [cell for cell in _text_cells(sessions) if ch in cell[2]]
    assert stored == [], stored


def _pending_card(world, sessions):  # noqa: ANN001, ANN202, F811
    app, ids = world
    moderator = app.test_client()
    assert login(moderator, "quantri").status_code == 302
    page = moderator.get(f"/review/{ids['comment']}")
    return moderator, ids["comment"], csrf(page.get_data(as_text=True))


@pytest.mark.parametrize(("edited", "message"), [
    ("Bài viết\x00 hay", "U+0000"),
    ("Bài viết \x1b[31mhay", "U+001B"),
    ("Bài viết\x85hay", "U+0085"),
    ("Bài viết \u202ehay", "U+202E"),
    ("\u200b \u200b", None),
])
def test_an_edited_approval_passes_the_readers_rules(world, sessions, edited, message) -> None:  # noqa: ANN001, F811
    """Edited approvals published ESC, U+0085 and U+202E to readers (the intake refuses
    them) and a NUL was a 500 on PostgreSQL. The card comes back with the edit kept."""
    moderator, comment_id, token = _pending_card(world, sessions)
    r = moderator.post(f"/review/{comment_id}/approve", data={"body": edited,
                                                              "csrf_token": token})
    assert r.status_code == 422, r.status_code
    page = r.get_data(as_text=True)
    assert 'role="alert"' in page or "flash" in page
    if message:
        assert message in page
    with sessions() as s:
        comment = s.get(Comment, comment_id)
        assert comment.status == CommentStatus.pending and comment.body_published is None
        assert s.scalars(select(ModerationAction).where(
            ModerationAction.comment_id == comment_id,
            ModerationAction.to_status == CommentStatus.approved)).all() == []


def test_a_reject_note_passes_the_rules(world, sessions) -> None:  # noqa: ANN001, F811
    moderator, comment_id, token = _pending_card(world, sessions)
    r = moderator.post(f"/review/{comment_id}/reject",
                       data={"reason": "spam", "note": "quảng cáo\x00", "csrf_token": token})
    assert r.status_code == 422
    with sessions() as s:
        assert s.get(Comment, comment_id).status == CommentStatus.pending
    r = moderator.post(f"/review/{comment_id}/reject",
                       data={"reason": "spam", "note": "quảng cáo vay tiền", "csrf_token": token})
    assert r.status_code in (302, 303)
    with sessions() as s:
        assert s.get(Comment, comment_id).status == CommentStatus.rejected


def test_a_training_note_passes_the_rules(world, sessions) -> None:  # noqa: ANN001, F811
    from service.storage import AuditEntry, TrainingExample

    app, ids = world
    admin = app.test_client()
    assert login(admin, "quantri").status_code == 302
    token = csrf(admin.get("/admin/training").get_data(as_text=True))
    form = {"op": "exclude", "keys": f"i:{ids['example']}", "csrf_token": token}
    r = admin.post("/admin/training/apply", data={**form, "note": "quảng cáo\x1b[0m"})
    assert r.status_code == 303
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "U+001B" in page
    with sessions() as s:
        assert s.get(TrainingExample, ids["example"]).excluded is False
    r = admin.post("/admin/training/apply", data={**form, "note": "quảng cáo vay tiền"})
    assert r.status_code == 302
    with sessions() as s:
        assert s.get(TrainingExample, ids["example"]).excluded is True
        notes = [e.details.get("note") for e in s.scalars(select(AuditEntry)) if e.details]
        assert "quảng cáo vay tiền" in notes
