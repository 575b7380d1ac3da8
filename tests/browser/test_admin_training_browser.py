"""An admin curates training data and sets a threshold in a real browser (Chromium): the
select-all box and the row buttons of the Training data page, the Thresholds chart drawn and
coloured by the stylesheet, "apply to site" through admin.js's confirmation; no CSP errors
(no inline script or style)."""

from __future__ import annotations

from sqlalchemy import func, select

from service.storage import Site, TrainingOverride
from tests.admin.test_thresholds import scored  # noqa: F401 - fixture
from tests.admin.test_training_data import decided, effective  # noqa: F401 - fixture
from tests.browser.pages import sign_in
from tests.test_review import PASSWORD, ui  # noqa: F401 - the ui fixture


def test_select_all_and_exclude_in_chromium(page, decided, sessions) -> None:  # noqa: ANN001, F811
    _, ids = decided
    sign_in(page, "quantri")
    page.goto("/admin/training")
    page.click("button[name=lang][value=en]")  # the assertions read the English msgids
    page.wait_for_url("**/admin/training")
    page.goto(f"/admin/training?site={ids['_a']}&label=clean")
    boxes = page.locator("input[name=keys]")
    assert boxes.count() == 5
    page.check("[data-select-all]")
    assert all(boxes.nth(i).is_checked() for i in range(5))
    boxes.nth(0).uncheck()                               # the "all" box follows
    assert not page.is_checked("[data-select-all]")
    boxes.nth(0).check()
    assert page.is_checked("[data-select-all]")
    page.fill("#examples input[name=note]", "kiểm tra lại")
    page.click("button[name=op][value=exclude]")
    page.wait_for_selector(".flash")
    assert "5 example(s) changed." in page.inner_text(".flash")
    assert page.locator("tr[data-key] [data-excluded]").count() == 5
    assert page.locator("tr.excluded .example-text").first.evaluate(
        "e => getComputedStyle(e).textDecorationLine") == "line-through"   # vimod.css
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TrainingOverride).where(
            TrainingOverride.excluded.is_(True))) == 5
    # one row's own button: relabel the spam comment as offensive
    page.goto("/admin/training?label=spam")
    page.click(f"tr[data-key='d:{ids['vay']}'] button[value='relabel:offensive@d:{ids['vay']}']")
    page.wait_for_selector(".flash")
    assert page.locator("tr[data-key]").count() == 0     # no spam left under this filter
    assert effective(sessions)[("decision", ids["vay"])] == "offensive"
    page.goto("/admin/training")
    assert page.is_visible("[data-base-data]") and page.is_visible("[data-import-form]")
    assert page.problems == []


def test_chart_and_apply_in_chromium(page, scored, sessions) -> None:  # noqa: ANN001, F811
    _, data = scored
    sign_in(page, "quantri")
    page.goto("/admin/training")
    page.click("button[name=lang][value=en]")  # the assertions read the English msgids
    page.wait_for_url("**/admin/training")
    page.goto("/admin/thresholds")
    page.select_option("select[name=site]", str(data["a"]))
    page.fill("input[name=target]", "100")
    page.fill("input[name=support]", "3")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/admin/thresholds?*")
    chart = page.locator("[data-rule=reject] svg")
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100       # drawn, sized by vimod.css
    line = page.locator("[data-rule=reject] polyline[data-series=precision]").first
    assert line.evaluate("e => getComputedStyle(e).stroke") == "rgb(0, 114, 178)"
    assert line.evaluate("e => getComputedStyle(e).fill") == "none"
    suggested = page.get_attribute("[data-rule=reject] [data-suggestion]", "data-suggestion")
    page.once("dialog", lambda d: d.accept())               # admin.js asks first
    page.click("[data-rule=reject] button[data-apply=reject]")
    page.wait_for_selector(".flash")
    with sessions() as s:
        assert s.get(Site, data["a"]).settings["auto_reject"] == {"spam": float(suggested)}
    assert page.inner_text("[data-rule=reject] [data-current-setting]") == str(float(suggested))
    assert page.locator("[data-rule=reject] line[data-current]").count() == 1
    assert page.problems == []
