"""A NUL character (U+0000) in a URL path or query is a 400 everywhere, never a 500:
PostgreSQL cannot hold it in text, and it reached queries from the reader API's paths
(article id, public key) and from the review queue's and training data's filters. Forms
refuse it field by field (the site form and word list form, tested here and in
tests/admin)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.storage import Site, WordListEntry
from tests.admin.test_wordlists_admin import admin, token
from tests.test_review import ui  # noqa: F401 - the ui fixture

pytestmark = pytest.mark.usefixtures("ui")


@pytest.fixture
def public_key(ui, sessions) -> str:  # noqa: ANN001, F811
    with sessions() as s:
        return s.scalars(select(Site.public_key)).first()


@pytest.mark.parametrize("url", [
    "/api/v1/public/sites/{pk}/articles/a%00b/comments",
    "/api/v1/public/sites/{pk}/articles/a%00b/comments/count",
    "/api/v1/public/sites/{pk}/counts?article=a%00b",
    "/api/v1/public/sites/x%00y/articles/tin-1/comments",
    "/api/v1/public/sites/{pk}/form?article=a%00b",
    "/api/v1/comments/1?x=%00",
])
def test_reader_and_site_apis_answer_400_in_json(ui, public_key, url) -> None:  # noqa: ANN001, F811
    app, _keys = ui
    r = app.test_client().get(url.format(pk=public_key), headers={"X-Api-Key": "k"})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.json["error"]["code"] == "bad_request"
    assert "NUL" in r.json["error"]["message"] and r.json["error"]["fields"]


@pytest.mark.parametrize("url", ["/admin/wordlists?q=%00", "/review?article=tin%00",
                                 "/admin/training?q=a%00"])
def test_admin_and_review_pages_answer_400_in_html(ui, url) -> None:  # noqa: ANN001, F811
    app, _keys = ui
    r = admin(app).get(url)
    assert r.status_code == 400 and r.mimetype == "text/html"


def test_a_search_for_the_text_percent_00_is_not_refused(ui) -> None:  # noqa: ANN001, F811
    app, _keys = ui
    assert admin(app).get("/admin/wordlists?q=%2500").status_code == 200


def test_a_form_field_with_nul_changes_nothing(ui, sessions) -> None:  # noqa: ANN001, F811
    app, _keys = ui
    c = admin(app)
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(WordListEntry))
    r = c.post("/admin/wordlists/add", data={"csrf_token": token(c), "site": "",
                                             "kind": "banned", "phrase": "đ\x00m"})
    assert r.status_code == 400 and "phrase" in r.get_data(as_text=True)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WordListEntry)) == before
