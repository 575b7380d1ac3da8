"""The review queue's search (text, author, article) ignores accents and case (#16 defect 6):
on SQLite and PostgreSQL, whatever path stored the comment."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from sqlalchemy import insert, select

from service.storage import Article, Comment, CommentStatus
from tests.helpers import headers, payload
from tests.test_review import login, ui  # noqa: F401 - the ui fixture
from workers.tasks import process_comment_now


def post(app, key: str, resources, body: str, **changes: str) -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments", json=payload(body=body, **changes),
                               headers=headers(key))
    assert r.status_code == 202, r.json
    process_comment_now(resources, r.json["id"])
    return r.json["id"]


def listed(c, query: str) -> set[int]:  # noqa: ANN001
    r = c.get("/review?" + query)
    assert r.status_code == 200, (query, r.status_code)
    return {int(x) for x in re.findall(r'name="ids" value="(\d+)"', r.get_data(as_text=True))}


def test_text_search_ignores_accents_and_case(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    price = post(app, key, resources, "Giá xăng lại tăng, dân khổ quá")
    shout = post(app, key, resources, "XĂNG DẦU CỨ TĂNG MÃI")
    bare = post(app, key, resources, "gia xang tang hoai, chan qua")
    other = post(app, key, resources, "Đường Lê Lợi ngập nặng sau mưa lớn")
    peace = post(app, key, resources, "Mong hoà bình cho mọi nhà")
    c = app.test_client()
    login(c, "bientap_a")
    xang = {price, shout, bare}
    assert listed(c, "q=xăng") == xang
    assert listed(c, "q=xang") == xang
    assert listed(c, "q=XĂNG") == xang
    assert listed(c, "q=" + quote(unicodedata.normalize("NFD", "xăng"))) == xang
    assert listed(c, "q=" + quote(unicodedata.normalize("NFD", "Lê Lợi"))) == {other}
    assert listed(c, "q=le loi") == {other}
    assert listed(c, "q=hòa bình") == {peace}  # new tone placement finds the old one
    assert listed(c, "q=HOA BINH") == {peace}


def test_author_and_article_filters_ignore_accents(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    hung = post(app, key, resources, "Bài viết hay", **{
        "author.name": "Trần Văn Hùng", "author.email": "TVHung@Example.vn",
        "article.id": "ngap", "article.title": "Đường Lê Lợi ngập sau mưa lớn"})
    lan = post(app, key, resources, "Cảm ơn tác giả")
    c = app.test_client()
    login(c, "bientap_a")
    assert listed(c, "author=hung") == {hung}
    assert listed(c, "author=HÙNG") == {hung}
    assert listed(c, "author=tran van hung") == {hung}
    assert listed(c, "author=tvhung@example.vn") == {hung}
    assert listed(c, "author=" + quote(unicodedata.normalize("NFD", "Nguyễn Thị Lan"))) == {lan}
    assert listed(c, "article=duong le loi") == {hung}
    assert listed(c, "article=LÊ LỢI") == {hung}
    assert listed(c, "article=ngap") == {hung}  # the external id still
    assert listed(c, "article=chuyen doi so") == {lan}  # payload()'s article


def test_like_wildcards_are_literal(ui, resources) -> None:  # noqa: ANN001, F811
    app, keys = ui
    key = keys["a"][1]
    percent = post(app, key, resources, "Giảm 50% giá xăng")
    plain = post(app, key, resources, "Giảm 500 đồng giá xăng")
    under = post(app, key, resources, "Liên hệ mã a_b nhé", **{"author.name": "Lan_Anh"})
    c = app.test_client()
    login(c, "bientap_a")
    assert listed(c, "q=50%25") == {percent}
    assert listed(c, "q=5%25") == set()
    assert listed(c, "q=5_0") == set()
    assert listed(c, "q=a_b") == {under}
    assert listed(c, "q=%25") == set()  # no letter or digit: nothing (see below)
    assert listed(c, "author=n_a") == {under}
    assert listed(c, "author=%25") == set()
    assert listed(c, "article=%25") == set()
    assert plain not in listed(c, "q=50%25")


def test_short_queries_match_whole_words(ui, resources) -> None:  # noqa: ANN001, F811
    """One or two characters cannot use a trigram index anywhere in a word: they match a
    whole word (which the index serves), and never fail. Without a letter or digit, no
    index can serve a search at all: nothing matches (rather than reading every comment)."""
    app, keys = ui
    key = keys["a"][1]
    bike = post(app, key, resources, "Đi xe máy mà không đội mũ")
    film = post(app, key, resources, "Xem phim xong mới đi ngủ")
    c = app.test_client()
    login(c, "bientap_a")
    assert listed(c, "q=xe") == {bike}
    assert listed(c, "q=XE") == {bike}
    assert listed(c, "q=đi") == {bike, film}
    assert listed(c, "q=di") == {bike, film}
    assert listed(c, "q=mu") == {bike}
    assert listed(c, "q=x") == set()
    assert listed(c, "q=xem") == {film}
    assert listed(c, "q=xe m") == {bike}  # three characters: anywhere
    assert listed(c, "author=la") == set()
    assert listed(c, "author=lan") == {bike, film}
    for odd in ("%", "_", "'", "\\", "%%", "?!", ",", "ả"):
        assert listed(c, "q=" + quote(odd)) == set()
        assert listed(c, "author=" + quote(odd)) == set()
        assert listed(c, "article=" + quote(odd)) == set()
    assert listed(c, "q=%CC%81") == {bike, film}  # a lone accent folds to nothing to find
    assert listed(c, "q=" + quote("đi,")) == set()  # "đi ," is not in the text
    assert listed(c, "q=" + quote("mũ")) == {bike}


def test_every_insert_path_fills_the_search_columns(ui, resources, sessions) -> None:  # noqa: ANN001, F811
    """The intake (checked above), the worker (the normal form is searchable too: a
    look-alike Cyrillic letter), and comments made with the ORM or Core elsewhere."""
    app, keys = ui
    site_id, key = keys["a"]
    # "хăng" with a Cyrillic х: only its normal form reads "xăng".
    lookalike = post(app, key, resources, "Giá \u0445ăng tăng")
    with sessions() as s:
        article = Article(site_id=site_id, external_id="tin-2", title="Giá XĂNG hôm nay")
        s.add(article)
        s.flush()
        orm = Comment(site_id=site_id, article_id=article.id, author_name="Phạm Hùng",
                      author_email="ph@example.vn", body_original="Xăng lên giá",
                      status=CommentStatus.pending)
        s.add(orm)
        s.flush()
        core = s.execute(insert(Comment).values(
            site_id=site_id, article_id=article.id, author_name="Lê Văn Hùng",
            author_email="lvh@example.vn", body_original="Đổ xăng xếp hàng dài",
            status=CommentStatus.pending).returning(Comment.id)).scalar_one()
        s.commit()
        orm_id = orm.id
        assert s.scalar(select(Comment.author_folded).where(Comment.id == core)) == (
            " le van hung \n lvh @ example . vn ")
    c = app.test_client()
    login(c, "bientap_a")
    assert listed(c, "q=xang") == {lookalike, orm_id, core}
    assert listed(c, "author=hung") == {orm_id, core}
    assert listed(c, "article=gia xang") == {orm_id, core}
