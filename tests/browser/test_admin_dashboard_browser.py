"""An admin uses the word lists and reads the dashboard in a real browser: the CSP lets
everything through (no inline script or style), the charts are drawn and coloured by the
stylesheet, and the "test this text" box highlights what matches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.storage import CommentStatus, User, WordListEntry
from service.storage.tables import utcnow
from tests.admin.test_dashboard import Seeder, scores
from tests.browser.pages import sign_in
from tests.test_review import PASSWORD, ui  # noqa: F401 - the ui fixture


def test_word_lists_add_and_test_a_text(page, ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    sign_in(page, "quantri")
    page.goto(f"/admin/wordlists?site={keys['a'][0]}")
    page.fill("#phrase", "Bán hàng ONLINE")
    page.click("[data-add-entry] button[type=submit]")
    page.wait_for_selector("[data-entries] tr[data-entry]")
    assert page.inner_text("[data-entries] tr[data-entry] td").strip() == "bán hàng online"
    with sessions() as s:
        assert s.scalar(select(WordListEntry.phrase)) == "bán hàng online"
    page.fill("#test-text", "Đ.m, shop b á n hàng online <b>giá rẻ</b>")
    page.click("[data-test] button[type=submit]")
    page.wait_for_selector("[data-test-result]")
    marks = page.locator("[data-test-result] mark")
    assert marks.all_inner_texts() == ["Đ.m", "b á n hàng online"]
    assert marks.first.evaluate("e => getComputedStyle(e).backgroundColor") == \
        "rgb(255, 213, 208)"  # mark.banned in vimod.css (#ffd5d0)
    assert "<b>giá rẻ</b>" in page.inner_text("[data-test-result] .body")  # shown as text
    assert page.problems == []


def test_dashboard_charts_are_drawn(page, ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    now = utcnow()
    with sessions() as s:
        mod = s.scalar(select(User.id).where(User.username == "bientap_a"))
        a = Seeder(s, keys["a"][0])
        for minutes in (5, 15, 25):
            a.decided(CommentStatus.approved, "bientap_a", now - timedelta(minutes=minutes),
                      user_id=mod, version="v1", analysis=scores("clean"))
        a.comment(CommentStatus.pending, now)
        s.commit()
    sign_in(page, "quantri")
    page.goto("/admin/dashboard")
    for chart in ("chart-pending", "chart-moderators", "chart-automatic", "chart-overrides"):
        box = page.locator(f"#{chart} svg").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 20, chart
    bar = page.locator("#chart-moderators rect.bar").first
    assert bar.bounding_box()["height"] > 10
    assert bar.evaluate("e => getComputedStyle(e).fill") == "rgb(0, 114, 178)"  # .s0
    assert page.locator("#chart-pending rect.bar").count() == 2  # one per site
    assert page.get_attribute("#chart-moderators svg", "role") == "img"
    assert page.problems == []
