"""Admin Training data and Thresholds pages with a large decision history:

    .venv/bin/python benchmarks/training_data.py --database-url postgresql://…/vimod_bench

Drops and recreates the schema in that database (default: a throwaway SQLite file), stores
--decisions moderator decisions (100,000 by default: each comment with its pipeline action,
its moderator's action and classifier scores, decided over the last 30 days) over two
sites, 2,000 imported examples and 500 admin corrections, signs an admin in and times the
server's answer (Flask test client: routing, queries, template) for the Training data list
(first page, filters, a deep page), the full streamed export and the Thresholds page;
prints p50/p95 in ms.
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

from benchmarks.timing import fresh_database, report, sign_in  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import (  # noqa: E402
    Article,
    Comment,
    ModerationAction,
    TrainingExample,
    TrainingOverride,
    make_engine,
    make_session_factory,
)
from service.storage.tables import utcnow  # noqa: E402

# text, what the moderator did, the reject reason, the classifier's top category
KINDS = [
    ("Bài viết rất hữu ích, cảm ơn tác giả.", "approved", None, "clean"),
    ("Mong tỉnh sớm sửa đường Lê Lợi", "approved", None, "clean"),
    ("Vay tiền nhanh, ib zalo 0912 345 678", "rejected", "spam", "spam"),
    ("đm thằng viết bài ngu vl", "rejected", "offensive: chửi tục", "offensive"),
    ("bọn bắc kỳ cút hết đi", "rejected", "hate", "hate"),
    ("Ai biết quán phở nào ngon không?", "rejected", "off_topic", "clean"),
]


def scores(rnd: random.Random, top: str) -> dict[str, float]:
    main = 0.5 + rnd.random() * 0.5
    rest = (1 - main) / 3
    return {c: round(main if c == top else rest, 4)
            for c in ("clean", "spam", "offensive", "hate")}


def seed(sessions, n: int) -> None:  # noqa: ANN001
    rnd = random.Random(11)
    now = utcnow()
    with sessions() as s:
        sites = [create_site(s, f"Báo {i}").site for i in range(2)]
        user, _ = create_user(s, "quantri", "admin", "mat-khau-dai")
        mods = [create_user(s, f"bientap{i}", "moderator", "mat-khau-dai",
                            [sites[i % 2].id])[0] for i in range(4)]
        articles = [Article(site_id=sites[i % 2].id, external_id=f"a{i}", title=f"Tin {i}")
                    for i in range(200)]
        s.add_all(articles)
        s.commit()
        article_ids = [(a.id, a.site_id) for a in articles]
        mod_names = [(m.id, m.username) for m in mods]
        started = time.perf_counter()
        for chunk in range(0, n, 5000):
            rows = []
            for i in range(chunk, min(chunk + 5000, n)):
                body, status, _, top = KINDS[i % len(KINDS)]
                article_id, site_id = article_ids[i % len(article_ids)]
                decided = now - timedelta(seconds=rnd.randrange(30 * 86400))
                rows.append(dict(
                    site_id=site_id, article_id=article_id, author_name=f"Độc giả {i}",
                    author_email=f"r{i % 5000}@example.vn", body_original=f"{body} #{i}",
                    body_normalized=f"{body} #{i}", status=status, received_at=decided,
                    analysed_at=decided, decided_at=decided, model_version="default",
                    analysis={"flags": [], "scores": scores(rnd, top)}, enqueue_count=1))
            ids = s.execute(insert(Comment).returning(Comment.id, Comment.decided_at,
                                                      Comment.status), rows).all()
            actions = []
            for cid, decided, status in ids:
                reason = KINDS[(cid - 1) % len(KINDS)][2]
                uid, name = mod_names[cid % len(mod_names)]
                actions.append(dict(comment_id=cid, actor="system:policy", from_status="received",
                                    to_status="pending", created_at=decided - timedelta(
                                        seconds=30), reason="awaiting a moderator"))
                actions.append(dict(comment_id=cid, user_id=uid, actor=name,
                                    from_status="pending", to_status=status, reason=reason,
                                    created_at=decided))
            s.execute(insert(ModerationAction), actions)
            s.commit()
        s.execute(insert(TrainingExample), [
            dict(text=f"Ví dụ nhập số {i}", label=("clean", "spam")[i % 2], source="nhap.csv",
                 excluded=i % 10 == 0, created_at=now, created_by=user.id) for i in range(2000)])
        s.execute(insert(TrainingOverride), [
            dict(comment_id=cid, label="spam" if cid % 2 else None, excluded=not cid % 2,
                 updated_at=now, updated_by=user.id)
            for cid in range(1, n, max(1, n // 500))])
        s.commit()
        print(f"stored {n} decisions in {time.perf_counter() - started:.0f} s")




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "training")
    engine = make_engine(url)
    seed(make_session_factory(engine), args.decisions)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        site_id = conn.scalar(select(Comment.site_id).limit(1))
    engine.dispose()
    redis_server = EmbeddedRedis(tmp / "redis").start()
    try:
        app = create_app(Settings(instance=tmp / "instance", database_url=url,
                                  redis_url=redis_server.url, secret_key="bench",
                                  secure_cookies=False))
        client = app.test_client()
        sign_in(client, "quantri", "mat-khau-dai")
        pages = {
            "training: first page": ("/admin/training", args.requests),
            "training: label=spam": ("/admin/training?label=spam", args.requests),
            "training: one site": (f"/admin/training?site={site_id}", args.requests),
            "training: moderator": ("/admin/training?moderator=bientap1", args.requests),
            "training: excluded=yes": ("/admin/training?excluded=yes", args.requests),
            "training: text search": ("/admin/training?q=lê lợi", args.requests),
            "training: page 1000": ("/admin/training?page=1000", args.requests),
            "export (csv, everything)": ("/admin/training/export?format=csv", 3),
            "thresholds: all, 30 days": ("/admin/thresholds", 3),
            "thresholds: one site": (f"/admin/thresholds?site={site_id}", 3),
        }
        print(f"{'page':28s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for label, (path, repeat) in pages.items():
            def get(path: str = path) -> None:
                r = client.get(path)
                assert r.status_code == 200, (path, r.status_code)
                r.get_data()

            report(label, get, repeat, width=28)
        app.extensions["vimod.engine"].dispose()
    finally:
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
