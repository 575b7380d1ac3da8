"""The admin console in both interface languages: every section renders in Vietnamese by
default and in English after the header's switch (POST /lang), with the navigation bar and a
few of each page's own strings checked in each language."""

from __future__ import annotations

import re

import pytest

from tests.test_review import csrf, login, ui  # noqa: F401

# The navigation bar (service/admin/__init__.py, in order): English msgid → Vietnamese.
NAV = {
    "Dashboard": "Bảng điều khiển",
    "Sites": "Trang tin",
    "Users": "Người dùng",
    "Word lists": "Danh sách từ",
    "Training data": "Dữ liệu huấn luyện",
    "Retraining": "Huấn luyện lại",
    "Models": "Mô hình",
    "Thresholds": "Ngưỡng",
}
# Each section's page: its URL, its nav label, and strings of its own, (Vietnamese, English).
PAGES = {
    "dashboard": ("/admin/dashboard", "Dashboard", [
        ("<h1>Bảng điều khiển</h1>", "<h1>Dashboard</h1>"),
        ("Đang chờ biên tập viên", "Waiting for a moderator"),
        ("Quyết định theo biên tập viên", "Decisions per moderator"),
        ("Tất cả trang tin", "All sites"),
    ]),
    "sites": ("/admin/sites", "Sites", [
        ("<h1>Trang tin</h1>", "<h1>Sites</h1>"),
        ("Trang tin mới", "New site"),
        ("Tên miền", "Domain"),
        ("Khóa API", "API key"),
        ("Ngày tạo", "Created"),
    ]),
    "users": ("/admin/users", "Users", [
        ("<h1>Người dùng</h1>", "<h1>Users</h1>"),
        ("Người dùng mới", "New user"),
        ("Vai trò", "Role"),
        ("Lần đăng nhập cuối", "Last sign-in"),
        ("Quản trị viên", "Administrator"),
        ("Biên tập viên", "Moderator"),
    ]),
    "wordlists": ("/admin/wordlists", "Word lists", [
        ("Chung (mọi trang tin)", "Global (all sites)"),
        ("Từ cấm", "Banned"),
        ("Từ đáng ngờ", "Suspect"),
        ("Thêm mục", "Add an entry"),
        ("Kiểm tra một văn bản", "Test a text"),
    ]),
    "training": ("/admin/training", "Training data", [
        ("<h1>Dữ liệu huấn luyện</h1>", "<h1>Training data</h1>"),
        ("Số mẫu theo nhãn", "Examples by label"),
        ("Dùng để huấn luyện", "Used for training"),
        ("Dữ liệu gốc", "Base data"),
        ("Không có mẫu nào khớp.", "No examples match."),
    ]),
    "retrain": ("/admin/retrain", "Retraining", [
        ("<h1>Huấn luyện lại</h1>", "<h1>Retraining</h1>"),
        ("Huấn luyện lại ngay", "Retrain now"),
        ("Chưa có lượt huấn luyện lại nào.", "No retraining run yet."),
    ]),
    "models": ("/admin/models", "Models", [
        ("<h1>Mô hình</h1>", "<h1>Models</h1>"),
        ("Phiên bản đang dùng", "Active version"),
        ("Các phiên bản", "Versions"),
        ("Đưa vào sử dụng…", "Make active…"),
    ]),
    "thresholds": ("/admin/thresholds", "Thresholds", [
        ("<h1>Ngưỡng</h1>", "<h1>Thresholds</h1>"),
        ("Độ chính xác mục tiêu (%)", "Target precision (%)"),  # "%%" in the msgid
        ("Tối thiểu (bình luận)", "At least (comments)"),
        ("Độ phủ (recall)", "Recall"),
    ]),
}
# Vietnamese letters (tests/test_i18n.py): none may remain on an English page but the
# language switch's own name, the test data and the word-list example of a disguised word.
VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
                        r"ùúủũụừứửữựỳýỷỹỵ]")
ALLOWED_VIETNAMESE = ("Tiếng Việt", "Báo A", "Báo B", "“Đ.M” as “đm”")


def html_lang(html: str) -> str:
    return re.search(r'<html lang="?([a-z]+)', html).group(1)


def nav(html: str) -> dict[str, bool]:
    """The navigation bar's labels → whether the link is marked as the current section."""
    bar = re.search(r'<nav class="admin-nav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return {label.strip(): "active" in cls
            for cls, label in re.findall(r'<a href="[^"]+" class="([^"]*)">([^<]+)</a>', bar)}


def admin_client(app):  # noqa: ANN001, ANN201
    c = app.test_client()
    assert login(c, "quantri").status_code == 302
    return c


@pytest.mark.parametrize("page", list(PAGES))
def test_admin_page_in_vietnamese_then_english(ui, page: str) -> None:  # noqa: ANN001, F811
    app, _ = ui
    url, section, strings = PAGES[page]
    c = admin_client(app)

    r = c.get(url, headers={"Accept-Language": "en-US,en;q=0.9"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html_lang(html) == "vi"
    assert nav(html) == {vi: en == section for en, vi in NAV.items()}
    assert 'aria-label="Quản trị"' in html
    for vi, en in strings:
        assert vi in html, (page, vi)
        assert en not in html, (page, en)

    r = c.post("/lang", data={"lang": "en", "next": url, "csrf_token": csrf(html)})
    assert r.status_code == 302 and r.headers["Location"] == url
    r = c.get(url)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html_lang(html) == "en"
    assert nav(html) == {en: en == section for en in NAV}
    assert 'aria-label="Administration"' in html
    for vi, en in strings:
        assert en in html, (page, en)
        assert vi not in html, (page, vi)
    rest = html
    for allowed in ALLOWED_VIETNAMESE:
        rest = rest.replace(allowed, "")
    leftover = VIETNAMESE.search(rest)
    assert leftover is None, rest[max(0, leftover.start() - 80):leftover.end() + 80]

    # And back: the choice is the session's, not the page's.
    r = c.post("/lang", data={"lang": "vi", "next": url, "csrf_token": csrf(html)})
    assert r.status_code == 302
    html = c.get(url).get_data(as_text=True)
    assert html_lang(html) == "vi" and strings[0][0] in html
