"""An admin switches a shipped word-list entry off on one site in a real browser (the CSP
lets it through, the page says so), and the test box lists what the likely reading of
unmarked text dismisses."""

from __future__ import annotations

from sqlalchemy import select

from service.storage import ShippedEntryOff
from tests.browser.pages import sign_in
from tests.test_review import ui  # noqa: F401 - the ui fixture


def test_switch_off_a_shipped_entry_and_test_unmarked_text(page, ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_a = keys["a"][0]
    sign_in(page, "quantri")
    page.goto(f"/admin/wordlists?site={site_a}&kind=suspect&q=lồng")
    item = page.locator("[data-shipped-entry]", has_text="lồng").first
    item.locator("button").click()
    page.wait_for_selector("[data-switched-off] tr[data-off]")
    assert "lồng" in page.inner_text("[data-switched-off] tr[data-off]")
    with sessions() as s:
        assert s.execute(select(ShippedEntryOff.site_id, ShippedEntryOff.phrase)).all() == [
            (site_a, "lồng")]
    page.fill("#test-text", "lon xon qua, cái lồng chim")
    page.click("[data-test] button[type=submit]")
    page.wait_for_selector("[data-test-result]")
    assert page.locator("[data-test-result] mark").count() == 0  # "lồng" is off here
    assert "lộn" in page.inner_text("[data-dismissed]")
    assert page.problems == []
