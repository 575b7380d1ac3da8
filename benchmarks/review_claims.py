"""What claims cost the server (#16 defect 5):

    .venv/bin/python benchmarks/review_claims.py [--database-url …] [--requests 300]

Stores 100 pending comments on one site (a throwaway SQLite file by default), signs two
moderators in (Flask test client: routing, CSRF, the Redis script, the answer) and times:
the open card's heartbeat (every 30 s per open card), the release (on leaving a card), the
queue page when none of its 25 rows is held and when all 25 are held by the other moderator
(one MGET, the holders' names in the rows), and a card held by the other (who, since when,
the take-over). Prints p50/p95 in ms. Redis: a redis-server of our own on a free port.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from benchmarks.timing import fresh_database, report, sign_in  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import Article, Comment, make_engine, make_session_factory  # noqa: E402

PASSWORD = "mat-khau-dai-123"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_TOKEN = re.compile(r'data-claim-token="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "claims")
    redis_server = EmbeddedRedis(tmp / "redis").start()
    try:
        sessions = make_session_factory(make_engine(url))
        with sessions() as s:
            site = create_site(s, "Báo Thử").site
            for name in ("lan", "minh"):
                create_user(s, name, "moderator", PASSWORD, [site.id])
            article = Article(site_id=site.id, external_id="a1", title="Giá xăng")
            s.add(article)
            s.flush()
            s.execute(insert(Comment), [dict(
                site_id=site.id, article_id=article.id, author_name=f"Độc giả {i}",
                author_email=f"r{i}@example.vn", client_ip="14.1.1.1",
                body_original=f"Ý kiến số {i} về giá xăng", body_normalized=f"Ý kiến số {i}",
                status="pending", priority=float(i % 7), analysis={"flags": []}, flags=" ",
                enqueue_count=1) for i in range(100)])
            s.commit()
        app = create_app(Settings(instance=tmp / "instance", database_url=url,
                                  redis_url=redis_server.url, secret_key="bench",
                                  secure_cookies=False, ratelimit_ip="100000 per minute"))
        lan, minh = app.test_client(), app.test_client()
        sign_in(lan, "lan", PASSWORD)
        sign_in(minh, "minh", PASSWORD)
        first = minh.get("/review").get_data(as_text=True)
        row_ids = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', first)]
        card = lan.get(f"/review/{row_ids[0]}").get_data(as_text=True)
        form = {"csrf_token": _CSRF.search(card).group(1), "token": _TOKEN.search(card).group(1)}
        print(f"{'request':44s} {'p50 ms':>8s} {'p95 ms':>8s}")

        def heartbeat() -> None:
            assert lan.post(f"/review/{row_ids[0]}/heartbeat", data=form).json["held"]

        def release() -> None:
            assert lan.post(f"/review/{row_ids[0]}/release", data=form).status_code == 204

        def queue() -> None:
            assert minh.get("/review").status_code == 200

        report("heartbeat", heartbeat, args.requests, 44)
        report("release (the first lets go; then no-ops)", release, args.requests, 44)
        report("queue page, no row held", queue, args.requests // 3, 44)
        for cid in row_ids:
            lan.get(f"/review/{cid}/pane")  # lan opens every card of minh's first page
        html = minh.get("/review").get_data(as_text=True)
        assert html.count("data-holder") == len(row_ids) == 25, html.count("data-holder")
        report("queue page, 25 rows held by lan", queue, args.requests // 3, 44)

        def held_card() -> None:
            assert "data-claim-holder" in minh.get(f"/review/{row_ids[1]}/pane").get_data(
                as_text=True)

        report("card held by lan (pane)", held_card, args.requests // 3, 44)
    finally:
        redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
