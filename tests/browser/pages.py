"""Steps the browser tests share."""

from __future__ import annotations

from tests.test_review import PASSWORD


def sign_in(page, username: str = "bientap_a") -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
