"""The review queue in both interface languages: Vietnamese by default, English after the
header's switch; statuses and flags shown as words with their codes kept on the page."""

from __future__ import annotations

import re
from pathlib import Path

from service.review_labels import CATEGORY_LABELS, FLAG_LABELS, STATUS_LABELS
from service.storage import CommentStatus
from tests.helpers import headers, payload
from tests.test_i18n import VIETNAMESE, html_lang
from tests.test_review import XSS, csrf, login, ui  # noqa: F401 - the ui fixture
from workers.pipeline.contacts import FLAGS as CONTACT_FLAGS
from workers.pipeline.diacritics import FLAG as DIACRITICS_FLAG
from workers.pipeline.policy import RISK_CATEGORIES
from workers.tasks import process_comment_now

PIPELINE = Path(__file__).resolve().parent.parent / "workers" / "pipeline"
# People and places in English, so that an English page has no Vietnamese but the data
# the tests strip out.
ENGLISH_NAMES = {"author.name": "Lan Nguyen", "article.title": "Digital transformation"}
UNMARKED = "Bai viet nay rat hay, cam on tac gia nhieu"
PHONE = "Vay tiền nhanh, ib zalo 0912 345 678"


def post(app, key: str, resources, body: str, **changes: str) -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments",
                               json=payload(body=body, **{**ENGLISH_NAMES, **changes}),
                               headers=headers(key))
    assert r.status_code == 202, r.json
    process_comment_now(resources, r.json["id"])
    return r.json["id"]


def to_english(c) -> None:  # noqa: ANN001
    token = csrf(c.get("/review").get_data(as_text=True))
    r = c.post("/lang", data={"lang": "en", "next": "/review", "csrf_token": token})
    assert r.status_code == 302


def without_data(html: str) -> str:
    """The page minus what people wrote (comment text, its suggested restoration, site
    names) and the language switch's own "Tiếng Việt": what is left is the interface."""
    for pattern in (r'<div class="body".*?</div>', r'<p class="diff".*?</p>',
                    r"<q data-suggestion.*?</q>", r"<textarea.*?</textarea>",
                    r'<span class="excerpt"[^>]*>.*?</span>', r"<option value=\"\d+\"[^>]*>[^<]*"):
        html = re.sub(pattern, "", html, flags=re.S)
    return html.replace("Tiếng Việt", "")


def flags_shown(html: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="flag" data-flag="(\w+)" title="\1">([^<]+)</span>',
                           html))


def test_queue_in_vietnamese_by_default(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post(app, keys["a"][1], resources, PHONE)
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get("/review", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(html) == "vi"
    assert "<title>Chờ duyệt · vimod</title>" in html
    for text in ("Chờ duyệt", "Bị gắn cờ", "Tự động từ chối", "Đã duyệt", "Đã từ chối",
                 "Ưu tiên cao trước", "Duyệt mục đã chọn", "Spam, quảng cáo",
                 f'aria-label="Chọn #{cid}"', 'placeholder="email hoặc tên"',
                 "<h2 id=\"help-title\">Phím tắt</h2>", "hoàn tác quyết định vừa rồi"):
        assert text in html, text
    assert flags_shown(html)["phone"] == "Số điện thoại"
    assert '<option value="phone" >Số điện thoại</option>' in html
    # The notes review.js shows come from the page, in the page's language.
    assert 'data-flood="Có thêm bình luận mới — tải lại trang để xem."' in html
    assert 'data-one="{n} bình luận mới ở đầu danh sách."' in html
    assert 'data-many="{n} bình luận mới ở đầu danh sách."' in html
    for english in ("Pending", "Flagged", "Keyboard shortcuts", "Phone number", "Approve"):
        assert english not in html, english


def test_queue_in_english_after_switching(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post(app, keys["a"][1], resources, PHONE)
    c = app.test_client()
    login(c, "bientap_a")
    to_english(c)
    html = c.get("/review").get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "<title>Pending · vimod</title>" in html
    for text in ("Pending", "Flagged", "Auto-rejected", "Approved", "Rejected",
                 "Highest priority first", "Oldest first", "Approve selected",
                 "Reject selected", "Spam, advertising",
                 f'aria-label="Select #{cid}"', 'aria-label="Reason for rejecting"',
                 'placeholder="e-mail or name"', '<h2 id="help-title">Keyboard shortcuts</h2>',
                 "undo your last decision", "Close (Esc)"):
        assert text in html, text
    assert flags_shown(html)["phone"] == "Phone number"
    assert '<option value="missing_diacritics" >Without diacritics</option>' in html
    assert 'data-flood="More new comments have arrived — reload the page to see them."' in html
    assert 'data-one="{n} new comment at the top of the list."' in html
    assert 'data-many="{n} new comments at the top of the list."' in html
    assert not VIETNAMESE.search(without_data(html)), without_data(html)
    # Every tab and an empty list too.
    for tab in ("flagged", "auto_rejected", "approved", "rejected"):
        page = c.get(f"/review?tab={tab}&order=oldest").get_data(as_text=True)
        assert not VIETNAMESE.search(without_data(page)), tab
    assert "No comments." in c.get("/review?tab=rejected").get_data(as_text=True)
    # Live arrivals are rendered in the session's language too.
    later = post(app, keys["a"][1], resources, PHONE + " nhé")
    r = c.get("/review/arrivals?tab=pending&since=2000-01-01T00:00:00")
    row = next(item["html"] for item in r.json["items"] if item["id"] == later)
    assert f'data-id="{later}"' in row and ">Phone number</span>" in row


def test_card_in_english_after_switching(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post(app, keys["a"][1], resources, UNMARKED)
    c = app.test_client()
    login(c, "bientap_a")
    vi = c.get(f"/review/{cid}").get_data(as_text=True)
    assert html_lang(vi) == "vi" and f"<title>Bình luận #{cid} · vimod</title>" in vi
    assert re.search(r"Viết không dấu \(\d+% âm tiết\)\.", vi)
    assert re.search(r"Gợi ý thêm dấu \(\d+ từ\):", vi)
    assert '<span class="status" data-status="pending" title="pending">Chờ duyệt</span>' in vi
    assert flags_shown(vi)["missing_diacritics"] == "Không dấu"
    assert ">Bình thường</th>" in vi and "Duyệt <kbd>a</kbd>" in vi and "Chặn người viết" in vi

    to_english(c)
    html = c.get(f"/review/{cid}").get_data(as_text=True)
    assert html_lang(html) == "en" and f"<title>Comment #{cid} · vimod</title>" in html
    assert re.search(r"Written without diacritics \(\d+% of syllables\)\.", html)
    assert re.search(r"Suggested diacritics \(\d+ words? changed\):", html)
    assert '<span class="status" data-status="pending" title="pending">Pending</span>' in html
    assert flags_shown(html)["missing_diacritics"] == "Without diacritics"
    assert '<tr data-category="clean"><th title="clean">Clean</th>' in html
    for text in ("Approve <kbd>a</kbd>", "Edit <kbd>e</kbd>", "Add diacritics <kbd>d</kbd>",
                 "Reject <kbd>r</kbd>", "Written without diacritics</button>",
                 'placeholder="Note (optional), sent with the reason"',
                 "Ban the author", "by e-mail: <bdi>lan.nguyen@example.vn</bdi>",
                 "reject all their pending comments", "Pending comments on this article (1)",
                 "Duplicates and near duplicates (0)", "No other comments yet.",
                 "Keyboard shortcuts"):
        assert text in html, text
    assert not VIETNAMESE.search(without_data(html)), without_data(html)
    # Decided: the log and the status read in English, the codes stay on the page.
    c.post(f"/review/{cid}/reject", data={"csrf_token": csrf(html), "reason": "no_diacritics"})
    html = c.get(f"/review/{cid}").get_data(as_text=True)
    assert ('<span class="status" data-status="pending" title="pending">Pending</span> → '
            '<span class="status" data-status="rejected" title="rejected">Rejected</span>'
            ) in html
    assert not VIETNAMESE.search(without_data(html))


def test_flash_messages_in_both_languages(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    ids = [post(app, keys["a"][1], resources, f"Quảng cáo số {i}: mua ngay kẻo hết")
           for i in range(4)]
    c = app.test_client()
    login(c, "bientap_a")
    token = csrf(c.get("/review").get_data(as_text=True))

    def bulk(action: str, chosen: list[int], **extra: str) -> tuple[int, str]:
        r = c.post("/review/bulk", data={"csrf_token": token, "action": action, "ids": chosen,
                                         "back": "/review", **extra})
        return r.status_code, c.get("/review").get_data(as_text=True)

    status, html = bulk("reject", ids[:2], reason="spam")
    assert status == 303 and "Đã từ chối 2 bình luận." in html
    status, html = bulk("reject", [])
    assert status == 303 and "Hãy chọn bình luận và thao tác." in html
    to_english(c)
    status, html = bulk("approve", ids[2:3])
    assert status == 303 and "Approved 1 comment." in html  # the singular
    other = app.test_client()
    login(other, "bientap_a2")
    other.get(f"/review/{ids[3]}")  # held by another moderator: skipped
    status, html = bulk("reject", ids[3:], reason="spam")
    assert "Rejected 0 comments, skipped 1." in html
    status, html = bulk("approve", [])
    assert status == 303 and "Select comments and an action." in html
    status, html = bulk("reject", ids[3:])
    assert status == 303 and "Choose a reason for rejecting." in html
    r = c.post(f"/review/{ids[3]}/approve", data={"csrf_token": token})
    assert r.status_code == 303
    assert ("<bdi>bientap_a2</bdi> is handling this comment; your decision was not recorded."
            in c.get(r.headers["Location"]).get_data(as_text=True))
    r = c.post(f"/review/{ids[2]}/undo", data={"csrf_token": token})
    assert f"Undone: #{ids[2]} is back where it was." in c.get(
        r.headers["Location"]).get_data(as_text=True)
    r = c.post(f"/review/{ids[2]}/ban", data={"csrf_token": token, "email": "1",
                                              "reject_pending": "1"})
    assert r.status_code == 303
    html = c.get("/review").get_data(as_text=True)
    assert re.search(r"Author banned; \d+ pending comments? rejected\.", html)


def test_interpolated_text_is_escaped(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    from sqlalchemy import select

    from service.storage import Comment

    app, keys = ui
    cid = post(app, keys["a"][1], resources, "Mong tỉnh sớm sửa đường",
               **{"article.title": XSS})
    with sessions() as s:
        article_id = s.scalar(select(Comment.article_id).where(Comment.id == cid))
    c = app.test_client()
    login(c, "bientap_a")
    for lang in ("vi", "en"):
        if lang == "en":
            to_english(c)
        html = c.get(f"/review?article_id={article_id}").get_data(as_text=True)
        chip = re.search(r'<span class="chip">(.*?)<a ', html, re.S).group(1)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in chip
        assert "<script>" not in chip and "<img" not in chip


# --- the labels ---------------------------------------------------------------------------


def test_every_status_and_pipeline_flag_has_a_label() -> None:
    assert set(STATUS_LABELS) == set(CommentStatus)
    set_by_phases = {*CONTACT_FLAGS.values(), DIACRITICS_FLAG, *RISK_CATEGORIES}
    for source in PIPELINE.glob("*.py"):
        text = source.read_text()
        # flags.append("x" [if … else "y"]), flags = ["x"], "flags": ["x"]
        for pattern in (r"flags\.append\(([^)]*)\)", r'flags"?\s*[:=]\s*\[([^\]]*)\]'):
            for call in re.findall(pattern, text):
                set_by_phases.update(re.findall(r'"(\w+)"', call))
    assert {"banned_word", "suspect_word", "near_duplicate", "analysis_failed",
            "changed_by_normalization", "banned_author"} <= set_by_phases
    assert set_by_phases <= set(FLAG_LABELS), set_by_phases - set(FLAG_LABELS)
    assert set(CATEGORY_LABELS) == {"clean", *RISK_CATEGORIES}


def test_labels_outside_a_request_and_unknown_codes(ui) -> None:  # noqa: ANN001, F811
    from service.review_labels import flag_label, status_label

    app, _ = ui
    assert flag_label("phone") == "Phone number"  # no app context: the English msgid
    with app.app_context():
        assert flag_label("phone") == "Số điện thoại"
        assert status_label(CommentStatus.auto_rejected) == "Tự động từ chối"
        assert flag_label("some_new_flag") == "some_new_flag"  # shown as its code
