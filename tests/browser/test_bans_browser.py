"""Bans in a real browser (#16 defect 7): ban an author from a card for 7 days, find the
ban on the bans page (reached from the workspace's navigation), lift it after confirming,
and see its state change."""

from __future__ import annotations

from sqlalchemy import select

from service.storage import Ban
from tests.browser.pages import sign_in
from tests.test_review import post_comment, ui  # noqa: F401 - the ui fixture

AUTHOR = "lan.nguyen@example.vn"


def test_ban_from_a_card_then_lift_it_on_the_bans_page(page, ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post_comment(app, keys["a"][1], resources, "Nhà cái uy tín, nạp 100k tặng 200k")
    page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page)
    page.goto(f"/review?c={cid}")
    page.click("#pane [data-ban] summary")
    form = page.locator("#pane [data-ban] form")
    form.get_by_label("7 ngày").check()
    form.get_by_placeholder("Lý do chặn", exact=False).fill("Quảng cáo cờ bạc")
    form.get_by_role("button", name="Chặn", exact=True).click()
    page.wait_for_selector("#pane .flash.ok")
    assert "Đã chặn người viết" in page.inner_text("#pane .flash.ok")
    with sessions() as s:
        ban = s.scalars(select(Ban)).one()
        assert ban.email == AUTHOR and ban.expires_at is not None

    page.click("header.top [data-nav-bans]")
    page.wait_for_url("**/review/bans")
    assert page.get_attribute("header.top [data-nav-bans]", "aria-current") == "page"
    row = page.locator(f"tr[data-ban='{ban.id}']")
    assert AUTHOR in row.inner_text() and "Quảng cáo cờ bạc" in row.inner_text()
    assert "còn 7 ngày" in row.inner_text()
    assert row.locator("[data-ban-state]").inner_text() == "đang áp dụng"

    # Filter by part of the e-mail: the filter stays in the URL and in the form.
    page.fill("[data-bans-filters] input[name=q]", "lan.nguyen")
    page.select_option("[data-bans-filters] select[name=state]", "active")
    page.click("[data-bans-filters] button[type=submit]")
    page.wait_for_url(lambda url: "q=lan.nguyen" in url and "state=active" in url)

    row = page.locator(f"tr[data-ban='{ban.id}']")
    row.get_by_role("button", name="Gỡ lệnh cấm").click()  # confirm() is accepted
    page.wait_for_selector(".flash.ok")
    assert page.dialogs == ["Gỡ lệnh cấm này? Người viết được bình luận lại từ bình luận "
                            "tiếp theo."]
    assert "Đã gỡ lệnh cấm" in page.inner_text(".flash.ok")
    assert "q=lan.nguyen" in page.url and "state=active" in page.url  # the filters kept
    assert page.locator(f"tr[data-ban='{ban.id}']").count() == 0  # no longer in force
    page.select_option("[data-bans-filters] select[name=state]", "")
    page.click("[data-bans-filters] button[type=submit]")
    row = page.locator(f"tr[data-ban='{ban.id}']")
    assert row.locator("[data-ban-state]").inner_text() == "đã gỡ"
    assert "bientap_a" in row.inner_text()
    assert row.get_by_role("button", name="Gỡ lệnh cấm").count() == 0
    with sessions() as s:
        assert s.get(Ban, ban.id).lifted_at is not None
    assert page.problems == []
