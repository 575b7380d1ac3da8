"""An admin changes a site's settings and replaces its key in a real browser."""

from __future__ import annotations

from service.storage import Site
from tests.browser.pages import sign_in
from tests.helpers import headers, payload
from tests.test_review import PASSWORD, ui  # noqa: F401 - the ui fixture


def test_admin_edits_settings_and_rotates_the_key(page, ui, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    site_id, old_key = keys["a"]
    sign_in(page, "quantri")

    page.goto("/admin/sites")
    assert page.locator(f'tr[data-site="{site_id}"] [data-pending]').inner_text() == "0"
    page.click(f'tr[data-site="{site_id}"] a')
    page.wait_for_url(f"**/admin/sites/{site_id}")

    # The browser itself refuses a threshold under 0.5 (the server would too).
    page.fill("#auto_reject_spam", "0.3")
    assert page.eval_on_selector("#auto_reject_spam", "el => el.validity.valid") is False
    page.fill("#auto_reject_spam", "0.97")
    page.fill("#max_length", "500")
    page.select_option("#diacritics_policy", "reject")
    # A value only the server can judge: a plain-http webhook on another host.
    page.fill("#webhook_url", "http://example.com/hook")
    with page.expect_navigation() as nav:
        page.click("[data-save-settings]")
    assert nav.value.status == 400
    assert page.locator("#webhook_url-error").is_visible()
    assert page.get_attribute("#webhook_url", "aria-invalid") == "true"
    assert page.input_value("#max_length") == "500"  # what was typed is kept
    with sessions() as s:
        assert s.get(Site, site_id).settings["max_length"] == 2000  # nothing saved

    page.fill("#webhook_url", "https://baoa.vn/vimod-hook")
    with page.expect_navigation() as nav:
        page.click("[data-save-settings]")
    assert nav.value.status == 200
    assert page.locator("#webhook_url-error").count() == 0
    with sessions() as s:
        stored = s.get(Site, site_id).settings
    assert stored["max_length"] == 500 and stored["diacritics_policy"] == "reject"
    assert stored["auto_reject"] == {"spam": 0.97}
    history = page.inner_text('#history tr[data-action="site.settings"]')
    assert "quantri" in history and "2000 → 500" in history
    assert "→ Tự động từ chối" in history  # the policy's name, not its code ("reject")
    assert "0.97" in history and "https://baoa.vn/vimod-hook" in history

    # Replace the key: asked first, then the new key is shown once.
    page.click("[data-rotate-key]")
    page.wait_for_selector("[data-secret]")
    assert len(page.dialogs) == 1
    new_key = page.inner_text("[data-secret]")
    assert new_key.startswith("vmk_") and new_key != old_key
    assert page.inner_text("[data-key-prefix]").startswith(new_key[:12])
    assert page.locator('#history tr[data-action="site.rotate_key"]').count() == 1
    page.reload()
    assert page.locator("[data-secret]").count() == 0
    client = app.test_client()
    body = payload(body="Bài viết rất hữu ích, cảm ơn tác giả")
    assert client.post("/api/v1/comments", json=body, headers=headers(old_key)).status_code == 401
    assert client.post("/api/v1/comments", json=body, headers=headers(new_key)).status_code == 202
    # The one failed response is the validation page the test asked for (400).
    assert [p for p in page.problems if not p.startswith("400 ")] == []
    assert sum(p.startswith("400 ") for p in page.problems) == 1
