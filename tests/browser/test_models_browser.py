"""An admin compares two model versions and promotes one, in a real browser."""

from __future__ import annotations

from models.classifier.registry import DEFAULT_VERSION
from tests.admin.test_models_admin import (  # noqa: F401 - fixtures
    DECIDED,
    FULL,
    decide,
    registry,
    tiny_models,
)
from tests.browser.pages import sign_in
from tests.test_review import PASSWORD, post_comment, ui  # noqa: F401 - the ui fixture


def test_compare_pictures_then_promote_with_confirmation(
        page, ui, registry, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    for body, label in DECIDED:
        decide(sessions, post_comment(app, keys["a"][1], resources, body), label)
    sign_in(page, "quantri")
    with page.expect_navigation():  # the assertions read the English msgids
        page.click("button[name=lang][value=en]")

    page.goto(f"/admin/models/{FULL}")
    decisions = page.locator('details[data-set="decisions"]')
    assert decisions.get_attribute("open") is not None
    # two confusion matrices and two precision-recall charts, drawn (not empty boxes)
    assert decisions.locator("svg.confusion").count() == 2
    assert decisions.locator("svg.pr").count() == 2
    assert decisions.locator("svg.confusion rect.cell").count() == 2 * 16
    box = decisions.locator("svg.pr polyline").first.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 10
    # the CSS classes colour them (no inline styles are allowed by the CSP)
    stroke = decisions.locator("svg.pr polyline.series-0").first.evaluate(
        "e => getComputedStyle(e).stroke")
    assert stroke == "rgb(27, 110, 42)"
    assert "would have got" in decisions.inner_text()

    page.goto("/admin/models")
    page.locator(f'button[data-promote="{FULL}"]').click()
    page.wait_for_url(f"**/admin/models/{FULL}/promote?site=")
    assert page.inner_text("[data-from]").strip() == DEFAULT_VERSION
    assert page.inner_text("[data-to]").strip() == FULL
    assert registry.active_version() == DEFAULT_VERSION   # nothing yet: only the question
    assert page.locator("[data-warning=few_examples]").count() == 1   # no decisions yet
    page.check("[data-confirm-warnings]")
    page.locator("button[data-confirm]").click()
    page.wait_for_url("**/admin/models")
    assert page.inner_text('tr[data-scope="global"] [data-active-version]') == FULL
    assert "global" in page.inner_text(f'tr[data-version="{FULL}"] [data-active]')
    assert registry.active_version() == FULL
    assert page.problems == []
