"""Intake throughput and latency against its ceiling, measured in the same run.

    make bench-intake            # or: .venv/bin/python benchmarks/intake.py [--help]

Starts its own Redis, a fresh database (SQLite by default, or --database-url), the real
intake under gunicorn (2 workers) and a minimal Flask endpoint that only parses the JSON
and pushes it to Redis (same gunicorn settings), then loads each in turn with wrk
(16 concurrent connections by default), alternating rounds so machine noise hits both.
Checks afterwards that every comment answered 202 is a stored row. Needs `wrk`
(Debian package; installed with apt-get when missing and running as root).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from service.accounts import create_site  # noqa: E402
from service.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from service.storage import Article, Comment, make_engine, make_session_factory  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402

LUA = ROOT / "benchmarks" / "intake_load.lua"


def ensure_wrk() -> str:
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        if found := shutil.which("wrk"):
            return found
    raise SystemExit("wrk is needed: apt-get install wrk")


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def gunicorn(app: str, port: int, env: dict[str, str], workers: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_wrk(wrk: str, url: str, key: str, seconds: int, connections: int, ids_file: Path) -> dict:
    env = dict(os.environ, WRK_IDS_FILE=str(ids_file))
    out = subprocess.run(
        [
            wrk,
            "-t",
            str(min(2, connections)),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            "-H",
            f"X-Api-Key: {key}",
            "-H",
            "Content-Type: application/json",
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(r"RESULT (.*)", out)
    if not m:
        raise RuntimeError(out)
    fields = dict(kv.split("=") for kv in m.group(1).split())
    r = {k: int(v) for k, v in fields.items()}
    errors = re.search(r"Socket errors: (.*)", out)
    r["socket_errors"] = errors.group(1) if errors else ""
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="per round and target")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for each target")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--floor", action="store_true",
                        help="also load benchmarks/floor_app.py, the bare minimum of this "
                             "design (SQLite only)")
    args = parser.parse_args()
    if args.floor and args.database_url:
        parser.error("--floor runs on the default SQLite database only")

    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="vimod-bench-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        site = create_site(s, "Benchmark")
        s.commit()
        key = site.api_key
        article = Article(site_id=site.site.id, external_id="floor")
        s.add(article)
        s.commit()
        floor_ids = {"FLOOR_SITE_ID": str(site.site.id), "FLOOR_ARTICLE_ID": str(article.id)}

    env = dict(
        os.environ,
        REDIS_URL=redis_server.url,
        DATABASE_URL=database_url,
        VIMOD_INSTANCE=str(tmp / "instance"),
        SECRET_KEY="bench",
        VIMOD_RATELIMIT_IP="1000000 per minute",
        VIMOD_RATELIMIT_SITE="10000000 per minute",
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"),
        **floor_ids,
    )
    (tmp / "prom").mkdir()
    ports = {"vimod": free_port(), "baseline": free_port()}
    procs = [
        gunicorn("service.wsgi:app", ports["vimod"], env, args.workers, tmp / "vimod.log"),
        gunicorn(
            "benchmarks.baseline_app:app",
            ports["baseline"],
            env,
            args.workers,
            tmp / "baseline.log",
        ),
    ]
    urls = {
        "vimod": f"http://127.0.0.1:{ports['vimod']}/api/v1/comments",
        "baseline": f"http://127.0.0.1:{ports['baseline']}/ingest",
    }
    if args.floor:
        ports["floor"] = free_port()
        procs.append(gunicorn("benchmarks.floor_app:app", ports["floor"], env, args.workers,
                              tmp / "floor.log"))
        urls["floor"] = f"http://127.0.0.1:{ports['floor']}/comments"
    results: dict[str, list[dict]] = {name: [] for name in urls}
    ids: list[int] = []
    try:
        wait_http(f"http://127.0.0.1:{ports['vimod']}/healthz")
        wait_http(f"http://127.0.0.1:{ports['baseline']}/ingest")
        if args.floor:
            wait_http(f"http://127.0.0.1:{ports['floor']}/comments")
        for name in urls:  # warm-up: imports, connection pools, SQLite pages
            run_wrk(wrk, urls[name], key, 3, args.connections, tmp / "warm.ids")
            if name == "vimod":
                ids += [int(x) for x in (tmp / "warm.ids").read_text().split()]
        for rnd in range(args.rounds):
            for name in ("baseline", "vimod", "floor")[:len(urls)]:
                ids_file = tmp / f"{name}-{rnd}.ids"
                r = run_wrk(wrk, urls[name], key, args.seconds, args.connections, ids_file)
                results[name].append(r)
                if name == "vimod":
                    ids += [int(x) for x in ids_file.read_text().split()]
                print(
                    f"round {rnd + 1} {name:8s} {r['rps']:8.0f}/s  p50 {r['p50_us'] / 1000:.1f} ms"
                    f"  p99 {r['p99_us'] / 1000:.1f} ms  non-202 {r['other']}",
                    flush=True,
                )
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(15)

    with sessions() as s:
        stored = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            stored += s.scalar(
                select(func.count()).select_from(Comment).where(Comment.id.in_(chunk))
            )
    engine.dispose()
    redis_server.stop()

    def med(name: str, field: str) -> float:
        return statistics.median(r[field] for r in results[name])

    summary = {
        "connections": args.connections,
        "gunicorn_workers": args.workers,
        "database": database_url.split(":", 1)[0],
        "baseline_rps": med("baseline", "rps"),
        "vimod_rps": med("vimod", "rps"),
        "ratio": med("vimod", "rps") / med("baseline", "rps"),
        "vimod_p50_ms": med("vimod", "p50_us") / 1000,
        "vimod_p99_ms": med("vimod", "p99_us") / 1000,
        "baseline_p50_ms": med("baseline", "p50_us") / 1000,
        "baseline_p99_ms": med("baseline", "p99_us") / 1000,
        "answered_202": len(ids),
        "distinct_ids": len(set(ids)),
        "stored_of_those": stored,
        "non_202": sum(r["other"] for r in results["vimod"]),
    }
    if args.floor:
        summary.update(floor_rps=med("floor", "rps"), floor_p50_ms=med("floor", "p50_us") / 1000,
                       floor_p99_ms=med("floor", "p99_us") / 1000,
                       floor_ratio=med("floor", "rps") / med("baseline", "rps"))
    print()
    print(f"{'target':10s} {'comments/s':>11s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name in results:
        print(
            f"{name:10s} {summary[name + '_rps']:11.0f} {summary[name + '_p50_ms']:8.1f}"
            f" {summary[name + '_p99_ms']:8.1f}"
        )
    print(
        f"ratio vimod/baseline: {summary['ratio']:.2f}   "
        f"({args.connections} connections, {args.workers} gunicorn workers each, "
        f"{summary['database']})"
    )
    if args.floor:
        print(f"ratio floor/baseline: {summary['floor_ratio']:.2f}   (the bare minimum of this "
              "design: benchmarks/floor_app.py)")
    lost = summary["answered_202"] - summary["stored_of_those"]
    print(
        f"202 answers: {summary['answered_202']}, stored: {summary['stored_of_those']}, "
        f"lost: {lost}, duplicate ids: {summary['answered_202'] - summary['distinct_ids']}"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if lost == 0 and summary["answered_202"] == summary["distinct_ids"] else 1


if __name__ == "__main__":
    sys.exit(main())
