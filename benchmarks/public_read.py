"""What every article page view costs: the reader API under a realistic backlog.

    .venv/bin/python benchmarks/public_read.py --database-url postgresql://…/vimod_bench

Drops and recreates the schema in that database (default: a throwaway SQLite file), stores
--comments comments over --articles articles of one site (two thirds published, a third of
those replies), one "hot" article with --hot published comments, and times the server's
answer (Flask test client: routing, queries, JSON) against /healthz in the same run: the
hot article's first page newest and oldest, a later page, its count, the counts of 50
articles, a 304 revalidation, and the CAPTCHA (issuing a challenge, drawing its image,
speaking its audio). Prints p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from benchmarks.timing import fresh_database, report  # noqa: E402
from service.accounts import create_site  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import Article, Comment, make_engine, make_session_factory  # noqa: E402
from service.storage.tables import utcnow  # noqa: E402

STATUSES = ["approved", "approved", "auto_approved", "approved", "pending", "rejected"]


def _seed(sessions, args) -> tuple[str, list[str]]:  # noqa: ANN001
    rnd = random.Random(11)
    with sessions() as s:
        site = create_site(s, "Báo Đo", allowed_origins=["https://baodo.vn"]).site
        articles = [Article(site_id=site.id, external_id=f"tin-{i}", title=f"Tin {i}")
                    for i in range(args.articles)]
        s.add_all(articles)
        s.commit()
        ids = [a.id for a in articles]
        hot = ids[0]
        now = utcnow()
        rows, published_hot = [], []

        def row(article_id: int, status: str, parent: int | None, n: int) -> dict:
            published = status in ("approved", "auto_approved")
            return dict(site_id=site.id, article_id=article_id, parent_id=parent,
                        author_name=f"Bạn đọc {n}", author_email=f"r{n}@example.vn",
                        client_ip="203.0.113.9", body_original=f"Bình luận số {n} về bài viết",
                        body_published=f"Bình luận số {n} về bài viết" if published else None,
                        status=status, received_at=now - timedelta(seconds=args.comments - n),
                        decided_at=now if published else None, enqueue_count=1)

        # The hot article first, so replies can point at its published comments.
        for n in range(args.hot):
            parent = rnd.choice(published_hot) if published_hot and rnd.random() < 0.33 else None
            cid = s.execute(insert(Comment).values(row(hot, "approved", parent, n))
                            .returning(Comment.id)).scalar_one()
            published_hot.append(cid)
        s.commit()
        for n in range(args.hot, args.comments):
            rows.append(row(rnd.choice(ids[1:]), rnd.choice(STATUSES), None, n))
            if len(rows) == 5000:
                s.execute(insert(Comment), rows)
                rows.clear()
        if rows:
            s.execute(insert(Comment), rows)
        s.commit()
        externals = list(s.scalars(select(Article.external_id).limit(50)))
        return site.public_key, externals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--hot", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "public")
    sessions = make_session_factory(make_engine(url))
    started = time.perf_counter()
    public_key, externals = _seed(sessions, args)
    if url.startswith("postgresql"):  # as autovacuum would have, after a bulk load
        with sessions() as s:
            s.execute(text("ANALYZE"))
            s.commit()
    print(f"stored {args.comments} comments ({args.hot} published on the hot article) in "
          f"{time.perf_counter() - started:.0f} s on {url.split(':')[0]}")
    redis = EmbeddedRedis(tmp / "redis").start()
    try:
        app = create_app(Settings(instance=tmp / "instance", database_url=url,
                                  redis_url=redis.url, secret_key="bench",
                                  ratelimit_enabled=False), RATELIMIT_ENABLED=False)
        client = app.test_client()
        base = f"/api/v1/public/sites/{public_key}"
        hot = f"{base}/articles/tin-0/comments"

        def ok(path: str, **headers: str):  # noqa: ANN202
            response = client.get(path, headers=headers)
            assert response.status_code in (200, 304), (path, response.status_code)
            return response

        etag = ok(hot).headers["ETag"]
        challenge = client.post(f"{base}/captcha", json={}).get_json()
        print(f"{'':24s} {'p50 ms':>8s} {'p95 ms':>8s}")
        report("baseline /healthz", lambda: ok("/healthz"), args.requests)
        report("hot article, newest", lambda: ok(hot), args.requests)
        report("hot article, oldest", lambda: ok(f"{hot}?order=oldest"), args.requests)
        report("hot article, page 10", lambda: ok(f"{hot}?page=10"), args.requests)
        report("hot article, 304", lambda: ok(hot, **{"If-None-Match": etag}), args.requests)
        report("count", lambda: ok(f"{hot}/count"), args.requests)
        counts = f"{base}/counts?" + "&".join(f"article={e}" for e in externals)
        report("counts of 50 articles", lambda: ok(counts), args.requests)
        report("issue a CAPTCHA", lambda: client.post(f"{base}/captcha", json={}),
               args.requests)
        report("image again (cached)", lambda: ok(challenge["image_url"]), args.requests)

        def fresh(kind: str, field: str):  # noqa: ANN202
            return lambda: ok(client.post(f"{base}/captcha", json={"kind": kind}).json[field])

        report("issue + draw an image", fresh("image", "image_url"), args.requests)
        report("issue + speak audio", fresh("audio", "audio_url"), max(5, args.requests // 5))
    finally:
        redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
