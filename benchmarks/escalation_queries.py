"""What escalation (issue 16) costs the review queue's queries, on the backlog that
benchmarks/review_queue.py leaves (100,000 pending comments, 30 escalated):

    .venv/bin/python benchmarks/review_queue.py --database-url postgresql://…/vimod_bench
    .venv/bin/python benchmarks/escalation_queries.py --database-url postgresql://…/vimod_bench

Times, for a moderator of one site, the Pending tab's first page and the Flagged count as
they were and as they are (escalated comments left out), the Escalated tab's page and its
counts, interleaved round by round so that the machine's load falls on all alike; prints
p50/p95 and the PostgreSQL plans of the new queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import case, func, select, text  # noqa: E402

from service.review import FLAGGED_PRIORITY  # noqa: E402
from service.storage import Comment, make_engine, make_session_factory  # noqa: E402


def queries(site_id: int) -> dict[str, object]:
    def pending():  # noqa: ANN202
        return select(Comment).where(Comment.site_id.in_([site_id]),
                                     Comment.status == "pending")

    def count():  # noqa: ANN202
        return select(func.count()).select_from(Comment).where(
            Comment.site_id.in_([site_id]), Comment.status == "pending")

    order = (Comment.priority.desc(), Comment.received_at, Comment.id)
    flagged = Comment.priority >= FLAGGED_PRIORITY
    return {
        "pending page, before": pending().order_by(*order).limit(26),
        "pending page, now": pending().where(Comment.escalated_at.is_(None))
        .order_by(*order).limit(26),
        "flagged count": count().where(flagged),
        "(flagged count, filtered)": count().where(flagged, Comment.escalated_at.is_(None)),
        "escalated page": pending().where(Comment.escalated_at.is_not(None))
        .order_by(Comment.escalated_at, Comment.id).limit(26),
        "escalated counts": select(
            func.count(), func.coalesce(func.sum(case((flagged, 1), else_=0)), 0)).where(
            Comment.site_id.in_([site_id]), Comment.status == "pending",
            Comment.escalated_at.is_not(None)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--site", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    sessions = make_session_factory(engine)
    timed = queries(args.site)
    times: dict[str, list[float]] = {label: [] for label in timed}
    with sessions() as s:
        for _round in range(args.rounds):
            for label, query in timed.items():
                started = time.perf_counter()
                s.execute(query).all()
                times[label].append((time.perf_counter() - started) * 1000)
    print(f"{'query':28s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, values in times.items():
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"{label:28s} {statistics.median(values):8.2f} {p95:8.2f}")
    if args.database_url.startswith("postgresql"):
        with engine.connect() as conn:
            for label in ("pending page, now", "flagged count", "escalated page",
                          "escalated counts"):
                sql = timed[label].compile(engine, compile_kwargs={"literal_binds": True})
                plan = conn.execute(text(f"EXPLAIN {sql}")).scalars().all()
                print(f"\n{label}:\n  " + "\n  ".join(plan))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
