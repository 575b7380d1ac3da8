"""What a worker's ban check costs now that it asks Redis before every comment (a ban or a
lift applies to the next comment processed, #16 defect 7):

    .venv/bin/python benchmarks/bans_check.py [--database-url postgresql://…/db] [--bans 1000]

Drops and recreates the schema in that database (default: a throwaway SQLite file), stores
--bans bans on one site (a third of them suspensions, a tenth lifted) and times
`Resources.bans(site)`: unchanged (one Redis GET of the bans' generation, the cached sets),
and right after a ban change (the GET, then the site's bans read again from the database).
Prints p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from benchmarks.timing import fresh_database, report  # noqa: E402
from service import bans as ban_rules  # noqa: E402
from service.accounts import create_site  # noqa: E402
from service.embedded_redis import EmbeddedRedis  # noqa: E402
from service.storage import Ban, make_engine, make_session_factory  # noqa: E402
from service.storage.tables import utcnow  # noqa: E402
from workers.pipeline.resources import Resources  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--bans", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    url, tmp = fresh_database(args.database_url, "bans")
    server = EmbeddedRedis(tmp / "redis").start()
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    sessions = make_session_factory(make_engine(url))
    now = utcnow()
    with sessions() as s:
        site_id = create_site(s, "Báo Bench").site.id
        s.commit()
        s.execute(insert(Ban), [{
            "site_id": site_id, "email": f"nguoi{i}@example.vn",
            "ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" if i % 2 else None,
            "created_at": now - timedelta(days=i % 40),
            "expires_at": now + timedelta(days=7) if i % 3 == 0 else None,
            "lifted_at": now if i % 10 == 0 else None} for i in range(args.bans)])
        s.commit()
    resources = Resources(sessions, client)
    emails, ips = resources.bans(site_id)
    print(f"{args.bans} bans, {len(emails)} e-mails and {len(ips)} IPs in force "
          f"({url.split(':')[0]})")
    print(f"{'':32s} {'p50 ms':>8s} {'p95 ms':>8s}")
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        resources.bans(site_id)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{'unchanged (Redis GET, cached)':32s} {statistics.median(times):8.3f} "
          f"{times[int(len(times) * 0.95) - 1]:8.3f}")

    def after_change() -> None:
        ban_rules.bump_generation(client)
        resources.bans(site_id)

    report("after a ban change (DB re-read)", after_change, max(50, args.repeat // 20), 32)
    server.stop()


if __name__ == "__main__":
    main()
