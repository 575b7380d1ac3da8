"""Numbers from URLs and forms, and the paths where a bad one used to be a 500."""

from __future__ import annotations

import pytest

from service.auth import safe_next
from service.params import MAX_ID, parse_id, parse_int, parse_page
from tests.test_review import login, ui  # noqa: F401 - the ui fixture


@pytest.mark.parametrize("raw, expected", [
    ("12", 12), ("0", None), ("²", None), ("١٢", None), ("-3", None), (" 7", None),
    (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("9" * 5000, None), ("", None), (None, None),
])
def test_parse_id(raw, expected) -> None:  # noqa: ANN001
    assert parse_id(raw) == expected


def test_parse_int_and_page() -> None:
    assert parse_int("5", 1, 10) == 5 and parse_int("11", 1, 10) is None
    assert parse_page("3") == 3 and parse_page("²") == 1 and parse_page("9" * 5000) == 1


def test_safe_next_refuses_backslashes_and_control_characters(ui) -> None:  # noqa: ANN001, F811
    app, _ = ui
    with app.test_request_context():
        assert safe_next("/review?tab=approved") == "/review?tab=approved"
        for bad in ("/\\evil.example", "/\\\\evil.example", "/\tevil", "//evil.example",
                    "https://evil.example", "/\nevil.example"):
            assert safe_next(bad) == "/review", bad


def test_odd_numbers_in_urls_are_not_server_errors(ui) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = app.test_client()
    login(c, "quantri")
    big = str(MAX_ID + 1)
    for path in ("/review?site=²&page=²", f"/review?page={'9' * 5000}",
                 f"/review?site={big}&article_id={big}", f"/review/{big}",
                 "/review/arrivals?since=0001-01-01T00:00:00",
                 f"/admin/dashboard?site={big}", "/admin/dashboard?site=²",
                 f"/admin/wordlists?site={big}&page=²", f"/admin/training?site={big}",
                 f"/admin/thresholds?site={big}", f"/admin/retrain/runs/{big}.json",
                 f"/admin/users/{big}", f"/admin/sites/{big}"):
        status = c.get(path).status_code
        assert status < 500, (path, status)
    assert c.get(f"/review/{big}").status_code == 404
    assert c.get("/review/arrivals?since=0001-01-01T00:00:00").status_code == 200

