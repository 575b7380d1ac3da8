"""The review queue's article filter, the card's word-level diff and duplicates, and the
live-arrivals endpoint the open queue polls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select

from service.storage import Article, Comment
from tests.helpers import headers, payload
from tests.test_review import XSS, csrf, login, ui  # noqa: F401 - the ui fixture
from workers.tasks import process_comment_now


def post(app, key: str, resources, body: str, **changes: str) -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments", json=payload(body=body, **changes),
                               headers=headers(key))
    assert r.status_code == 202, r.json
    process_comment_now(resources, r.json["id"])
    return r.json["id"]


def listed(c, query: str) -> set[int]:  # noqa: ANN001
    html = c.get("/review?" + query).get_data(as_text=True)
    return {int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)}


def test_article_filter(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    flood = {"article.id": "ngap-le-loi", "article.title": "Đường Lê Lợi ngập sau mưa lớn"}
    a1 = post(app, keys["a"][1], resources, "Mong thành phố sớm khơi thông cống", **flood)
    a2 = post(app, keys["a"][1], resources, "Nuoc ngap qua dau goi, ko di dc", **flood)
    other = post(app, keys["a"][1], resources, "Chuyển đổi số phải đi vào thực chất")
    b = post(app, keys["b"][1], resources, "Bài ở trang B", **flood)
    with sessions() as s:
        article_a = s.scalar(select(Comment.article_id).where(Comment.id == a1))
        article_b = s.scalar(select(Comment.article_id).where(Comment.id == b))
        assert s.get(Article, article_a).external_id == "ngap-le-loi"
    c = app.test_client()
    login(c, "bientap_a")
    assert listed(c, f"article_id={article_a}") == {a1, a2}
    assert listed(c, "article=ngap-le-loi") == {a1, a2}  # external id
    assert listed(c, "article=lê lợi") == {a1, a2}  # words of the title, any case
    assert listed(c, "article=chuyển đổi số") == {other}
    assert listed(c, "article=100%25") == set()
    # Another site's article: not found, and never its comments.
    assert c.get(f"/review?article_id={article_b}").status_code == 404
    html = c.get(f"/review?article_id={article_a}").get_data(as_text=True)
    assert "Bài: <bdi>Đường Lê Lợi ngập sau mưa lớn</bdi>" in html
    # The card links to the same article's queue with its pending count.
    card = c.get(f"/review/{a1}").get_data(as_text=True)
    assert f'href="/review?article_id={article_a}" data-article-queue' in card
    assert "(2)" in card


def test_card_word_diff_of_the_suggestion(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    cid = post(app, keys["a"][1], resources, "Bai viet nay rat hay, cam on tac gia nhieu")
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get(f"/review/{cid}").get_data(as_text=True)
    diff = re.search(r"<p class=\"diff\" lang=\"vi\" dir=\"auto\" data-diff>(.*?)</p>", html,
                     re.S).group(1)
    assert "<del>Bai</del><ins>Bài</ins>" in diff
    assert "<del>viet</del><ins>viết</ins>" in diff
    suggestion = re.search(r"<q data-suggestion hidden dir=\"auto\">([^<]+)</q>", html).group(1)
    # The diff's new side reads exactly as the suggestion the editor receives.
    assert re.sub(r"<del>.*?</del>|</?ins>", "", diff) == suggestion


def test_card_lists_duplicates_from_other_authors(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    text = "Vay tiền online duyệt nhanh trong 5 phút, lãi suất thấp, liên hệ ngay hôm nay nhé"
    first = post(app, key, resources, text, **{"author.email": "a1@example.vn"})
    second = post(app, key, resources, text.upper(), **{"author.email": "a2@example.vn"})
    near = post(app, key, resources, text + " ạ!",
                **{"author.email": "a3@example.vn"})
    unrelated = post(app, key, resources, "Cảm ơn phóng viên đã phản ánh kịp thời")
    xss = post(app, key, resources, text + " " + XSS, **{"author.email": "a4@example.vn"})
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get(f"/review/{first}").get_data(as_text=True)
    section = html[html.index('class="duplicates"'):html.index('class="history"')]
    shown = {int(x) for x in re.findall(r'/review\?c=(\d+)"', section)}
    # Exact repeats are found both ways in time; near-duplicates from the later comment's
    # own analysis are shown on that later card.
    assert second in shown and unrelated not in shown and first not in shown
    later = c.get(f"/review/{near}").get_data(as_text=True)
    later_section = later[later.index('class="duplicates"'):later.index('class="history"')]
    assert f"/review?c={first}" in later_section
    xss_card = c.get(f"/review/{xss}").get_data(as_text=True)
    assert "<script>alert(1)" not in xss_card and "<img src=x" not in xss_card


def test_card_says_generic_praise_is_not_coordinated(ui, resources) -> None:  # noqa: ANN001, F811
    """Near-duplicates of generic praise from readers of other articles: no flag, and the
    card says why; crowding one article within minutes is still flagged, and said so."""
    app, keys = ui
    key = keys["a"][1]
    praise = "Bài viết rất hay, cảm ơn tác giả"
    ids = [post(app, key, resources, praise + tail,
                **{"author.email": f"dg{i}@example.vn", "article.id": f"bai-{i}"})
           for i, tail in enumerate(["", " nhé", " ạ"])]
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get(f"/review/{ids[2]}").get_data(as_text=True)
    section = html[html.index('class="duplicates"'):html.index('class="history"')]
    assert ("Câu chung chung, ít nội dung riêng (2 bình luận giống của người khác): không "
            "tính là đăng có phối hợp.") in section
    assert "data-generic-text" not in c.get(f"/review/{ids[0]}").get_data(as_text=True)
    crowd = [post(app, key, resources, praise + "!" * i,
                  **{"author.email": f"cr{i}@example.vn", "article.id": "bai-nong"})
             for i in range(4)]
    html = c.get(f"/review/{crowd[3]}").get_data(as_text=True)
    assert "nhiều người đăng vào bài này trong vài phút: tính là đăng có phối hợp" in html
    assert 'data-flag="near_duplicate"' in html
    assert 'data-flag="near_duplicate"' not in c.get(f"/review/{ids[2]}").get_data(as_text=True)


def test_arrivals_returns_new_rows_and_counts(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    before = post(app, keys["a"][1], resources, "Bình luận đã có trước khi mở trang")
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get("/review").get_data(as_text=True)
    cursor = re.search(r'data-cursor="([^"]+)"', html).group(1)
    poll = re.search(r'data-arrivals="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert poll == "/review/arrivals"
    poll += "?tab=pending"
    new = post(app, keys["a"][1], resources, XSS)
    other_site = post(app, keys["b"][1], resources, "Bình luận của trang B")
    r = c.get(poll + "&since=" + quote(cursor))
    assert r.status_code == 200
    ids = [item["id"] for item in r.json["items"]]
    # The overlap may repeat what the page shows (it skips those); never another site's.
    assert new in ids and other_site not in ids and set(ids) <= {before, new}
    row = next(item["html"] for item in r.json["items"] if item["id"] == new)
    assert "<script>" not in row and "&lt;script&gt;" in row and f'data-id="{new}"' in row
    assert r.json["counts"]["pending"] == 2
    # Later polls with the returned cursor, once the overlap has passed, bring nothing old.
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert c.get(poll + "&since=" + quote(later)).json["items"] == []
    # A decided comment is no longer an arrival.
    token = csrf(c.get(f"/review/{new}").get_data(as_text=True))
    c.post(f"/review/{new}/reject", data={"csrf_token": token, "reason": "spam"})
    r = c.get(poll + "&since=" + quote(cursor))
    assert new not in [item["id"] for item in r.json["items"]]
    assert r.json["counts"]["rejected"] == 1


def test_arrivals_input_and_scope(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    c = app.test_client()
    assert c.get("/review/arrivals?since=2026-01-01T00:00:00").status_code == 302  # sign in
    login(c, "bientap_a")
    bad = c.get("/review/arrivals?since=hôm-qua")
    assert bad.status_code == 400 and bad.json["error"]["fields"] == {
        "since": ["not an ISO 8601 time"]}
    assert c.get("/review/arrivals?tab=nope&since=2026-01-01").status_code == 404
    site_b = keys["b"][0]
    assert c.get(f"/review/arrivals?site={site_b}&since=2026-01-01").status_code == 404
    # A naive time is read as UTC; other tabs get counts only.
    r = c.get("/review/arrivals?tab=approved&since=2026-01-01T00:00:00")
    assert r.status_code == 200 and r.json["items"] == [] and "approved" in r.json["counts"]


def test_least_certain_first(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    ids = [post(app, key, resources, text) for text in (
        "Bài viết rất hữu ích, cảm ơn tác giả",
        "Vay tiền nhanh lãi thấp, ib zalo 0912 345 678",
        "may thang nay ngu vl",
        "Chính quyền cần xem lại cách làm này",
    )]
    with sessions() as s:
        rows = {c.id: c for c in s.scalars(select(Comment).where(Comment.id.in_(ids)))}
        assert all(rows[i].certainty is not None for i in ids)  # all scored by the model
        assert all(rows[i].analysis["certainty"] == rows[i].certainty for i in ids)
        rows[ids[3]].certainty = None  # as if the classifier had failed on it
        s.commit()
        certainty = {i: rows[i].certainty for i in ids}
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get("/review?order=uncertain").get_data(as_text=True)
    shown = [int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)]
    scored = sorted(ids[:3], key=lambda i: certainty[i])
    assert shown == [*scored, ids[3]]  # least certain first, unscored last
    assert 'value="uncertain" selected' in html
    card = c.get(f"/review/{scored[0]}").get_data(as_text=True)
    assert f'data-certainty="{certainty[scored[0]]}"' in card


def test_card_counts_the_authors_comments_by_status(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    from service import moderation

    app, keys = ui
    key = keys["a"][1]
    who = {"author.email": "hoa.tran@example.vn"}
    ids = [post(app, key, resources, body, **who) for body in (
        "Bài viết hay, cảm ơn tác giả", "Mua hàng giá rẻ ib zalo 0912 345 678",
        "Mong tỉnh sớm sửa đường")]
    post(app, key, resources, "Bình luận của người khác", **{"author.email": "khac@example.vn"})
    with app.app_context(), sessions() as s:
        moderation.reject(s, s.get(Comment, ids[1]), None, "test", "spam")
    c = app.test_client()
    login(c, "bientap_a")
    html = c.get(f"/review/{ids[0]}").get_data(as_text=True)
    counts = re.search(r"data-history-counts>(.*?)</p>", html, re.S).group(1)
    assert counts.startswith("3 bình luận trên trang tin này")
    assert 'data-status="pending"' in counts and ": 2" in counts
    assert 'data-status="rejected"' in counts and ": 1" in counts
