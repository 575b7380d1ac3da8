"""/api/v1/docs in a real browser (issue 15, defect 7): Swagger UI draws the operations from
files of this app alone, with no request elsewhere and no Content-Security-Policy refusal."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.test_signin_browser import shot
from tests.test_review import ui  # noqa: F401 - the ui fixture


def test_docs_render_offline_under_their_csp(page, live_server) -> None:  # noqa: ANN001
    origin = urlsplit(live_server).netloc
    elsewhere: list[str] = []

    def guard(route) -> None:  # noqa: ANN001
        url = route.request.url
        if url.startswith("data:") or urlsplit(url).netloc == origin:
            route.continue_()
        else:  # a CDN, a validator, fonts: recorded and refused
            elsewhere.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/comments" in paths and len(paths) >= 5, paths
    page.locator(".opblock-summary").first.click()  # an operation opens (React runs)
    page.wait_for_selector(".opblock-body")
    shot(page, "06-api-docs")
    assert elsewhere == []
    assert page.problems == []  # no script error, no CSP refusal, no failed load
