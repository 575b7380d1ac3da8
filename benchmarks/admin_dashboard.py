"""Admin dashboard time with a large history:

    .venv/bin/python benchmarks/admin_dashboard.py --database-url postgresql://…/vimod_bench

Drops and recreates the schema in that database (default: a throwaway SQLite file), stores
--comments comments (100,000 by default) over two sites and the last 30 days — pending,
decided by moderators, decided automatically, most scored by one of three model versions —
with their audit rows (the pipeline's and the moderators'), signs an admin in and times the
server's answer for the dashboard (all sites, and one site), and each of its queries alone;
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
from service import dashboard_stats as stats  # noqa: E402
from service.accounts import create_site, create_user  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import (  # noqa: E402
    Article,
    Comment,
    ModerationAction,
    make_engine,
    make_session_factory,
)
from service.storage.tables import utcnow  # noqa: E402

STATUSES = [("pending", 10), ("approved", 50), ("rejected", 20), ("auto_approved", 10),
            ("auto_rejected", 10)]
REASONS = ["spam", "offensive", "hate", "duplicate", "off_topic", "spam: quảng cáo"]
MODERATORS = ["lan", "minh", "hoa", "tuan", "quantri"]


def analysis(top: str, scores: dict[str, float] | None) -> dict:
    """The shape and size of a real comment's analysis (0.3 kB clean, ~1.8 kB risky: the
    classifier's explaining tokens and their spans)."""
    out: dict = {"flags": [], "spans": [], "phases": {
        "diacritics": {"verdict": "ok", "ratio": 0.0, "unmarked": []},
        "length": {"chars": 64, "words": 14}}}
    if scores is None:
        return out
    out.update(scores=scores, risk=max(v for k, v in scores.items() if k != "clean"),
               certainty=0.4)
    classifier: dict = {"label": top, "model_version": "v1"}
    if top != "clean":
        out["flags"] = [top]
        classifier["tokens"] = [{"token": f"từ khóa {k}", "label": top, "weight": 1.234,
                                 "start": 4 * k, "end": 4 * k + 3} for k in range(8)]
        out["spans"] = [{"start": 4 * k, "end": 4 * k + 3, "kind": top, "weight": 1.234,
                         "phase": "classifier"} for k in range(8)]
    out["phases"]["classifier"] = classifier
    return out




def seed(sessions, n: int) -> int:  # noqa: ANN001
    rnd = random.Random(11)
    now = utcnow()
    with sessions() as s:
        sites = [create_site(s, f"Báo {i}").site for i in range(2)]
        create_user(s, "quantri", "admin", "mat-khau-dai")
        articles = [Article(site_id=sites[i % 2].id, external_id=f"a{i}", title=f"Tin {i}")
                    for i in range(200)]
        s.add_all(articles)
        s.commit()
        statuses = [st for st, weight in STATUSES for _ in range(weight)]
        next_id = 1
        for chunk in range(0, n, 5000):
            comments, actions = [], []
            for i in range(chunk, min(chunk + 5000, n)):
                article = articles[i % len(articles)]
                status = rnd.choice(statuses)
                received = now - timedelta(minutes=rnd.randrange(30 * 24 * 60))
                analysed = received + timedelta(seconds=1)
                scored = rnd.random() < 0.95
                top = rnd.choice(["clean"] * 6 + ["spam", "offensive", "hate"])
                scores = {c: (0.7 if c == top else 0.1) for c in stats.CATEGORIES}
                decided = None if status == "pending" else (
                    analysed if status.startswith("auto") else
                    min(now, analysed + timedelta(minutes=rnd.randrange(600))))
                comments.append(dict(
                    id=next_id, site_id=article.site_id, article_id=article.id,
                    author_name=f"Độc giả {i}", author_email=f"r{i % 5000}@example.vn",
                    body_original=f"Ý kiến số {i}", body_normalized=f"Ý kiến số {i}",
                    status=status, received_at=received, analysed_at=analysed,
                    decided_at=decided, enqueued_at=received, enqueue_count=1,
                    analysis=(found := analysis(top, scores if scored else None)),
                    flags=" " + " ".join(found["flags"]) + " ",  # as workers/tasks.py
                    model_version=rnd.choice(["v1", "v2", "v3"]) if scored else None))
                first = status if status.startswith("auto") else "pending"
                actions.append(dict(comment_id=next_id, actor="system:policy",
                                    from_status="received", to_status=first,
                                    created_at=analysed))
                if status in ("approved", "rejected"):
                    actions.append(dict(
                        comment_id=next_id, actor=rnd.choice(MODERATORS), user_id=None,
                        from_status="pending", to_status=status, created_at=decided,
                        reason=rnd.choice(REASONS) if status == "rejected" else None))
                next_id += 1
            s.execute(insert(Comment), comments)
            s.execute(insert(ModerationAction), actions)
            s.commit()
        return sites[0].id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "dashboard")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    site_id = seed(sessions, args.comments)
    with sessions() as s:
        n_actions = s.scalar(select(ModerationAction.id).order_by(
            ModerationAction.id.desc()).limit(1))
    print(f"stored {args.comments} comments and {n_actions} audit rows in "
          f"{time.perf_counter() - started:.0f} s ({engine.dialect.name})")
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))

    redis_server = EmbeddedRedis(tmp / "redis").start()
    app = create_app(Settings(instance=tmp / "instance", database_url=url,
                              redis_url=redis_server.url, secret_key="bench",
                              secure_cookies=False))
    client = app.test_client()
    sign_in(client, "quantri", "mat-khau-dai")
    print(f"{'':34s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, path in (("page, all sites", "/admin/dashboard"),
                        ("page, one site", f"/admin/dashboard?site={site_id}")):
        def get(path: str = path) -> None:
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)

        report(label, get, args.requests, width=34)
    window = stats.Window.ending(utcnow())
    queries = {
        "pending per site": lambda s: stats.pending_by_site(s),
        "decisions per actor and day": lambda s: stats.decision_counts(s, window),
        "overrides per model version": lambda s: stats.override_rates(
            s, utcnow() - timedelta(days=stats.OVERRIDE_DAYS)),
    }
    for label, query in queries.items():
        def run(query=query) -> None:  # noqa: ANN001
            with sessions() as s:
                query(s)

        report(label, run, args.requests, width=34)
    redis_server.stop()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
