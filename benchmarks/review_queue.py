"""Review queue page time with a large backlog:

    .venv/bin/python benchmarks/review_queue.py --database-url postgresql://…/vimod_bench

Drops and recreates the schema in that database (default: a throwaway SQLite file), stores
--comments pending comments (100,000 by default) over two sites, signs a moderator in and
times the server's answer (Flask test client: routing, queries, template) for the first
page, a flag-filtered page, text searches (accent- and case-insensitive: common, rare, a
short whole word), author filters, article filters and the "least certain first" order;
prints p50/p95. Before the pages it times the bare "least certain first" query for one site,
two sites and all sites, and prints its PostgreSQL plans. Beside the searches, the same run
times the queries a search page ran before the folded columns (page of 26 and the tab counts
with lower(body) LIKE '%…%'), and the folded ones bare, as the baseline.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import and_, case, func, insert, or_, select, text, update  # noqa: E402

from benchmarks.timing import fresh_database, report, sign_in  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.review import FLAGGED_PRIORITY, Filters  # noqa: E402
from service.storage import Article, Comment, make_engine, make_session_factory  # noqa: E402
from service.storage.tables import utcnow  # noqa: E402

BODIES = [
    ("Bài viết rất hữu ích, cảm ơn tác giả.", []),
    ("Bai viet hay qua, cam on tac gia", ["missing_diacritics"]),
    ("Vay tiền nhanh, ib zalo 0912 345 678", ["phone", "spam"]),
    ("Đ.m bọn tham nhũng", ["banned_word", "hate"]),
    ("Mong tỉnh sớm sửa đường Lê Lợi", []),
    ("Giá xăng lại tăng, đổ xăng xếp hàng dài, xe máy chen nhau", []),
    ("Hoà bình cho mọi nhà", []),
]
NAMES = ["Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Minh Tuấn", "Phạm Thu Hà", "Độc giả"]


def least_certain_query(site_ids: list[int] | None):  # noqa: ANN201
    """Pending comments, least certain first (unscored last), oldest first on ties: a page of
    25 plus one to know whether there is a next page."""
    query = select(Comment).where(Comment.status == "pending")
    if site_ids is not None:
        query = query.where(Comment.site_id.in_(site_ids))
    return query.order_by(Comment.certainty.asc().nulls_last(), Comment.received_at,
                          Comment.id).limit(26)




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--escalated", type=int, default=30,
                        help="pending comments of the moderator's site handed to a senior editor")
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "queue")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        sites = [create_site(s, f"Báo {i}").site for i in range(2)]
        create_user(s, "bientap", "moderator", "mat-khau-dai", [sites[0].id])
        site_ids = [site.id for site in sites]
        articles = [Article(site_id=sites[i % 2].id, external_id=f"a{i}",
                            title=f"Tin {i}: giá xăng" if i % 10 == 0 else f"Tin {i}")
                    for i in range(200)]
        s.add_all(articles)
        s.commit()
        rnd = random.Random(7)
        started = time.perf_counter()
        for chunk in range(0, args.comments, 5000):
            rows = []
            for i in range(chunk, min(chunk + 5000, args.comments)):
                body, flags = rnd.choice(BODIES)
                article = articles[i % len(articles)]
                # Most comments are clear-cut, a few sit near a boundary; 2% went unscored
                # (analysis failed) and sort last.
                sure = None if rnd.random() < 0.02 else round(rnd.random() ** 2, 4)
                analysis = {"flags": flags} | ({} if sure is None else {"certainty": sure})
                rows.append(dict(
                    site_id=article.site_id, article_id=article.id,
                    author_name=f"{NAMES[i % len(NAMES)]} {i}",
                    author_email=f"r{i % 5000}@example.vn", client_ip="14.1.1.1",
                    body_original=f"{body} #{i}", body_normalized=f"{body} #{i}",
                    status="pending", priority=round(rnd.random() * 10, 3), certainty=sure,
                    analysis=analysis, flags=" " + " ".join(flags) + " ",
                    enqueue_count=1))
            s.execute(insert(Comment), rows)
            s.commit()
        print(f"stored {args.comments} pending comments in {time.perf_counter() - started:.0f} s")
        # A few escalated ones (issue 16): they leave the Pending tab for "Escalated".
        chosen = select(Comment.id).where(Comment.site_id == site_ids[0]).order_by(
            Comment.id).limit(args.escalated).scalar_subquery()
        s.execute(update(Comment).where(Comment.id.in_(chosen)).values(
            escalated_at=utcnow(), escalated_by="bientap", escalation_note="Nhờ anh xem"))
        s.commit()
    if url.startswith("postgresql"):
        # What autovacuum does on a live database: statistics and the visibility map.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE comments"))
            conn.execute(text("VACUUM ANALYZE articles"))

    # The order the queue will offer as "least certain first": timed as a bare query (whole
    # rows, as a page loads them), apart from the page's own cost.
    least_certain = {
        "least certain, 1 site": least_certain_query(site_ids[:1]),
        "least certain, 2 sites": least_certain_query(site_ids),
        "least certain, all": least_certain_query(None),
    }
    print(f"{'query':24s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, query in least_certain.items():
        def run(query=query) -> None:  # noqa: ANN001
            with sessions() as s:
                assert len(s.scalars(query).all()) == 26

        report(label, run, args.requests)
    if url.startswith("postgresql"):
        with engine.connect() as conn:
            for label, query in least_certain.items():
                compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
                plan = conn.execute(text(f"EXPLAIN {compiled}")).scalars().all()
                print(f"\n{label}:\n  " + "\n  ".join(plan))

    time_search_queries(engine, sessions, site_ids[:1], args.requests)
    redis_server = EmbeddedRedis(tmp / "redis").start()
    try:
        time_pages(url, tmp, redis_server.url, args.requests)
    finally:
        redis_server.stop()  # a failed page must not leave a redis-server behind
    engine.dispose()
    return 0


def _old_apply(query, q: str | None = None, author: str | None = None):  # noqa: ANN001, ANN202
    """Filters.apply's text and author conditions before the folded columns (#16 defect 6):
    lower() of the raw columns, LIKE '%…%', accents significant."""
    if author:
        needle = author.lower()
        query = query.where(or_(func.lower(Comment.author_email) == needle,
                                func.lower(Comment.author_name).contains(needle,
                                                                         autoescape=True)))
    if q:
        query = query.where(or_(
            func.lower(Comment.body_normalized).contains(q.lower(), autoescape=True),
            func.lower(Comment.body_original).contains(q.lower(), autoescape=True)))
    return query


def _search_queries(site_ids: list[int], apply, old: bool = False) -> list:  # noqa: ANN001
    """What a search page asks the database for the moderator's sites: a page of 26
    (priority order) and the tab counts (service/review.py _queue_query and _counts): one
    query now, two before (the statuses, then the flagged)."""
    flagged = case((and_(Comment.status == "pending", Comment.priority >= FLAGGED_PRIORITY),
                    1), else_=0)
    scoped = [
        select(Comment).where(Comment.status == "pending").order_by(
            Comment.priority.desc(), Comment.received_at, Comment.id).limit(26),
        select(Comment.status, func.count(), func.sum(flagged)).group_by(Comment.status),
    ]
    if old:
        scoped[1:] = [
            select(Comment.status, func.count()).group_by(Comment.status),
            select(func.count()).select_from(Comment).where(
                Comment.status == "pending", Comment.priority >= FLAGGED_PRIORITY)]
    return [apply(query.where(Comment.site_id.in_(site_ids))) for query in scoped]


def time_search_queries(engine, sessions, site_ids: list[int], requests: int) -> None:  # noqa: ANN001
    """The baseline: the old unfolded search queries on the same rows, beside the folded."""
    cases = {
        "old q=xăng (lower LIKE)": _search_queries(
            site_ids, lambda q: _old_apply(q, q="xăng"), old=True),
        "new q=xang (folded)": _search_queries(site_ids, Filters(q="xang").apply),
        "old q=4242": _search_queries(
            site_ids, lambda q: _old_apply(q, q="4242"), old=True),
        "new q=4242": _search_queries(site_ids, Filters(q="4242").apply),
        "old author=hùng": _search_queries(
            site_ids, lambda q: _old_apply(q, author="hùng"), old=True),
        "new author=hung": _search_queries(site_ids, Filters(author="hung").apply),
        "old author=r42@…": _search_queries(
            site_ids, lambda q: _old_apply(q, author="r42@example.vn"), old=True),
        "new author=r42@…": _search_queries(site_ids, Filters(author="r42@example.vn").apply),
        "flag=phone, counts as before": _search_queries(
            site_ids, Filters(flag="phone").apply, old=True),
        "flag=phone": _search_queries(site_ids, Filters(flag="phone").apply),
    }
    print(f"\n{'search queries (bare)':28s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, queries in cases.items():
        def run(queries=queries) -> None:  # noqa: ANN001
            with sessions() as s:
                for query in queries:
                    s.execute(query).all()

        report(label, run, requests, width=28)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            for label in ("new q=xang (folded)", "new author=hung", "flag=phone"):
                for query in cases[label][1:2]:
                    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
                    plan = conn.execute(text(f"EXPLAIN ANALYZE {compiled}")).scalars().all()
                    print(f"\n{label}, tab counts:\n  " + "\n  ".join(plan))
    print()


def time_pages(url: str, tmp: Path, redis_url: str, requests: int) -> None:
    app = create_app(Settings(instance=tmp / "instance", database_url=url,
                              redis_url=redis_url, secret_key="bench",
                              secure_cookies=False))
    client = app.test_client()
    sign_in(client, "bientap", "mat-khau-dai")
    pages = {
        "first page": "/review",
        "flag filter (phone)": "/review?flag=phone",
        "text search q=lê lợi": "/review?q=lê lợi",
        "text search q=xang": "/review?q=xang",
        "text search q=4242 (rare)": "/review?q=4242",
        "text search q=xe (short)": "/review?q=xe",
        "author filter hung": "/review?author=hung",
        "author filter r42@…": "/review?author=r42@example.vn",
        "page 20, oldest first": "/review?order=oldest&page=20",
        "least certain first": "/review?order=uncertain",
        "article filter": "/review?article_id=1",
        "escalated tab": "/review?tab=escalated",
        "article filter (id)": "/review?article_id=1",
        "article filter gia xang": "/review?article=gia xang",
    }
    print(f"{'page':28s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, path in pages.items():
        def get(path: str = path) -> None:
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)

        report(label, get, requests, width=28)


if __name__ == "__main__":
    sys.exit(main())
