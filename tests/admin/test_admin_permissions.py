"""Every page and action under /admin, found in the app's URL map (so routes added later are
covered without touching this file): a signed-in moderator gets 403, an anonymous visitor
is sent to /login, and none of their requests changes the database, Redis or the model
registry — even with a valid CSRF token, and with real ids in the path."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.storage import (
    Article,
    AuditEntry,
    Ban,
    Base,
    Comment,
    CommentStatus,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
    TrainingRun,
    User,
    WordListEntry,
)
from tests.test_review import csrf, login, ui  # noqa: F401 - the ui fixture

# What a form might carry: if a guard were missing, these would change something.
FORM: dict[str, Any] = {
    "name": "đã đổi", "domain": "doi.vn", "allowed_origins": "https://doi.vn",
    "max_length": "5", "diacritics_policy": "off", "auto_approve_below": "0.9",
    "username": "ke_xam_nhap", "role": "admin", "active": "0", "password": "mat-khau-123",
    "phrase": "từ mới", "kind": "banned", "label": "spam", "excluded": "1", "text": "văn bản",
    "note": "x", "confirm": "1", "ids": "1", "action": "exclude", "version": "default",
}


def admin_routes(app) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(endpoint, rule, method) for every rule under /admin, whatever blueprint holds it."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule == "/admin" or rule.rule.startswith("/admin/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, rule.rule, method))
    return sorted(found)


@pytest.fixture
def world(ui, sessions):  # noqa: ANN001, ANN201, F811
    """One real row of everything an admin page can name in its path."""
    app, keys = ui
    site_id = keys["a"][0]
    with sessions() as s:
        article = Article(site_id=site_id, external_id="tin-1", title="Tin")
        s.add(article)
        s.flush()
        comment = Comment(site_id=site_id, article_id=article.id, author_name="Lan",
                          author_email="lan@example.vn", body_original="Bài viết hay",
                          status=CommentStatus.pending)
        s.add(comment)
        s.flush()
        moderator = s.scalar(select(User).where(User.username == "bientap_a2"))
        rows = {
            "word": WordListEntry(site_id=site_id, kind="banned", phrase="cấm"),
            "ban": Ban(site_id=site_id, email="spam@example.vn"),
            "example": TrainingExample(text="Vay tiền nhanh", label="spam"),
            "run": TrainingRun(status="succeeded", version="default"),
            "audit": AuditEntry(actor="quantri", action="site.settings", target_type="site",
                                target_id=str(site_id)),
            "action": ModerationAction(comment_id=comment.id, actor="system:policy",
                                       from_status="received", to_status="pending"),
        }
        s.add_all(rows.values())
        s.add(TrainingOverride(comment_id=comment.id, label="clean"))
        s.commit()
        ids = {name: row.id for name, row in rows.items()}
        ids.update(site=site_id, article=article.id, comment=comment.id, user=moderator.id,
                   entry=ids["word"])
    return app, ids


def fill(rule: str, ids: dict[str, int]) -> str:
    """The rule's path with real values: `<int:site_id>` → a site's id, and so on."""
    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if converter.startswith("int"):
            return str(ids.get(name.removesuffix("_id"), ids["site"]))
        return "default" if name == "version" else str(ids["site"])

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", value, rule)


def snapshot(sessions, redis_client) -> dict[str, Any]:  # noqa: ANN001
    """Everything an admin action could change: every table's rows, Redis (keys, and the
    length of lists such as Celery's queues), the model registry's files."""
    state: dict[str, Any] = {}
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            rows = s.execute(table.select()).all()
            state[table.name] = sorted(repr(tuple(r)) for r in rows)
    keys = {}
    for key in redis_client.scan_iter():
        kind = redis_client.type(key)
        keys[key] = (kind, redis_client.llen(key) if kind == b"list" else None)
    state["redis"] = keys
    registry = Path(os.environ["VIMOD_MODEL_REGISTRY"])
    state["registry"] = sorted((str(p), p.stat().st_mtime_ns) for p in registry.rglob("*"))
    return state


def request(client, method: str, path: str, token: str | None):  # noqa: ANN001, ANN201
    data = dict(FORM, csrf_token=token) if token else dict(FORM)
    headers = {"X-CSRFToken": token} if token else {}
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data=data, headers=headers)


def test_every_admin_route_refuses_moderators(world, sessions, redis_client) -> None:  # noqa: ANN001
    app, ids = world
    routes = admin_routes(app)
    endpoints = {endpoint for endpoint, _, _ in routes}
    # Ours are there; any other area's pages are checked the same way.
    assert {"admin.index", "admin.sites", "admin.sites_settings", "admin.sites_rotate_key",
            "admin.users", "admin.users_active", "admin.users_password"} <= endpoints
    moderator = app.test_client()
    assert login(moderator, "bientap_a").status_code == 302
    token = csrf(moderator.get("/review").get_data(as_text=True))
    before = snapshot(sessions, redis_client)
    wrong = []
    for endpoint, rule, method in routes:
        path = fill(rule, ids)
        r = request(moderator, method, path, token)
        if r.status_code != 403 or r.mimetype != "text/html":
            wrong.append(f"{method} {path} ({endpoint}): {r.status_code} {r.mimetype}")
        if method != "GET":
            r = request(moderator, method, path, None)  # no CSRF token either
            if r.status_code not in (400, 403):
                wrong.append(f"{method} {path} without CSRF ({endpoint}): {r.status_code}")
    assert wrong == []
    assert snapshot(sessions, redis_client) == before
    assert moderator.get("/review").status_code == 200  # still signed in, still a moderator


def test_every_admin_route_sends_anonymous_visitors_to_login(world, sessions,  # noqa: ANN001
                                                             redis_client) -> None:
    app, ids = world
    anonymous = app.test_client()
    token = csrf(anonymous.get("/login").get_data(as_text=True))
    before = snapshot(sessions, redis_client)
    wrong = []
    routes = admin_routes(app)
    assert len(routes) >= 12
    for endpoint, rule, method in routes:
        path = fill(rule, ids)
        r = request(anonymous, method, path, token)
        location = r.headers.get("Location", "")
        if r.status_code != 302 or not location.startswith("/login"):
            wrong.append(f"{method} {path} ({endpoint}): {r.status_code} → {location}")
        if method != "GET":
            r = request(anonymous, method, path, None)
            if r.status_code not in (302, 400):
                wrong.append(f"{method} {path} without CSRF ({endpoint}): {r.status_code}")
    assert wrong == []
    assert snapshot(sessions, redis_client) == before


def test_the_filler_reaches_real_rows(world, sessions) -> None:  # noqa: ANN001
    """The paths above name rows that exist: a missing guard would act, not 404."""
    app, ids = world
    admin = app.test_client()
    login(admin, "quantri")
    for endpoint, rule, method in admin_routes(app):
        if method == "GET" and "<" in rule:
            r = admin.get(fill(rule, ids))
            assert r.status_code != 404, (endpoint, fill(rule, ids))
