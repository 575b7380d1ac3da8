"""The intake while PostgreSQL goes silent: issue 15's measurement, repeatable.

    .venv/bin/python benchmarks/db_partition.py --database-url postgresql://…/db

Starts its own Redis, the real intake under gunicorn (2 sync workers, as deployed) with its
database behind tests/tcp_proxy.py, and sends comments at a steady rate (30/s) from
threads, each request with a 15 s client timeout, while /healthz and /readyz are polled
every 0.5 s. The proxy goes silent twice for 20 s (connections kept, no byte forwarded,
new connections accepted and never answered), with 10 s of normal work around each. Prints
the answers and their latency while silent, client timeouts, the health checks that failed,
gunicorn's WORKER TIMEOUTs, and compares the comments answered 202 with the rows stored.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from service.accounts import create_site  # noqa: E402
from service.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from service.storage import Comment, make_engine, make_session_factory  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402

BODY = {"article": {"id": "bench-partition"}, "author": {"name": "Lan", "email": "lan@example.vn"}}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL (emptied first)")
    parser.add_argument("--rate", type=float, default=30.0, help="comments per second")
    parser.add_argument("--silence", type=float, default=20.0, help="seconds per partition")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vimod-partition-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    from service.storage.migrate import recreate

    recreate(args.database_url)
    upgrade(args.database_url)
    engine = make_engine(args.database_url)
    with make_session_factory(engine)() as s:
        key = create_site(s, "Benchmark").api_key
        s.commit()
    proxy = TcpProxy.for_url(args.database_url).start()
    port = free_port()
    env = dict(os.environ, REDIS_URL=redis_server.url,
               DATABASE_URL=proxy.url_through(args.database_url),
               VIMOD_INSTANCE=str(tmp / "instance"), SECRET_KEY="bench", VIMOD_PORT=str(port),
               WEB_CONCURRENCY="2", VIMOD_RATELIMIT_IP="1000000 per minute",
               VIMOD_RATELIMIT_SITE="10000000 per minute", PYTHONPATH=str(ROOT))
    log_path = tmp / "gunicorn.log"
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
                            "service.wsgi:app"], env=env, cwd=ROOT, stdout=log_path.open("wb"),
                           stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    silent_since: list[float | None] = [None]
    answers: list[dict] = []
    health: list[tuple[str, bool, float]] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or web.poll() is not None:
                raise SystemExit("gunicorn did not start:\n" + log_path.read_text())
            time.sleep(0.3)
        client = httpx.Client(base_url=base, timeout=15, headers={"X-Api-Key": key},
                              limits=httpx.Limits(max_connections=200))

        def send(i: int) -> None:
            silent = silent_since[0] is not None
            started = time.monotonic()
            try:
                r = client.post("/api/v1/comments", json={**BODY, "body": f"Ý kiến số {i}"})
                status, retry = r.status_code, r.headers.get("Retry-After")
            except httpx.TimeoutException:
                status, retry = "timeout", None
            except httpx.HTTPError as exc:
                status, retry = type(exc).__name__, None
            with lock:
                answers.append({"i": i, "silent": silent, "status": status, "retry": retry,
                                "seconds": time.monotonic() - started,
                                "id": r.json().get("id") if status == 202 else None})

        def poll_health() -> None:
            while not stop.wait(0.5):
                for path in ("/healthz", "/readyz"):
                    started = time.monotonic()
                    try:
                        ok = httpx.get(base + path, timeout=5).status_code in (200, 503)
                    except httpx.HTTPError:
                        ok = False
                    health.append((path, ok, time.monotonic() - started))

        poller = threading.Thread(target=poll_health, daemon=True)
        poller.start()
        phases = [("normal", 10.0)]
        for _ in range(args.partitions):
            phases += [("silent", args.silence), ("normal", 10.0)]
        interval = 1 / args.rate
        i = 0
        with ThreadPoolExecutor(max_workers=int(args.rate * 16)) as pool:
            for phase, seconds in phases:
                if phase == "silent":
                    proxy.silence()
                    silent_since[0] = time.monotonic()
                else:
                    proxy.resume()
                    silent_since[0] = None
                end = time.monotonic() + seconds
                next_at = time.monotonic()
                while time.monotonic() < end:
                    pool.submit(send, i)
                    i += 1
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
        stop.set()
        proxy.resume()
        time.sleep(1)
    finally:
        stop.set()
        proxy.resume()
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
        proxy.stop()
        redis_server.stop()

    with make_session_factory(engine)() as s:
        stored = s.scalar(select(func.count()).select_from(Comment))
    accepted = sum(1 for a in answers if a["status"] == 202)
    while_silent = [a for a in answers if a["silent"]]
    by_status: dict[str, int] = {}
    for a in while_silent:
        by_status[str(a["status"])] = by_status.get(str(a["status"]), 0) + 1
    otherwise: dict[str, int] = {}
    for a in answers:
        if not a["silent"]:
            otherwise[str(a["status"])] = otherwise.get(str(a["status"]), 0) + 1
    silent_seconds = [a["seconds"] for a in while_silent]
    log_text = log_path.read_text(errors="replace")
    figures = {
        "comments_sent": len(answers),
        "sent_while_silent": len(while_silent),
        "answers_while_silent": by_status,
        # Outside the silences: the 503s are those of the backoff just after one ended.
        "answers_otherwise": otherwise,
        "answered_503_with_retry_after": sum(1 for a in while_silent
                                             if a["status"] == 503 and a["retry"]),
        "client_timeouts_15s": sum(1 for a in answers if a["status"] == "timeout"),
        "latency_while_silent_s": {
            "p50": round(statistics.median(silent_seconds), 3) if silent_seconds else None,
            "p99": round(percentile(silent_seconds, 0.99), 3),
            "max": round(max(silent_seconds, default=float("nan")), 3)},
        "health_checks_failed": sum(1 for _, ok, _ in health if not ok),
        "health_checks": len(health),
        "slowest_health_check_s": round(max((s for _, _, s in health), default=0.0), 3),
        "worker_timeouts": log_text.count("WORKER TIMEOUT"),
        "answered_202": accepted,
        "rows_stored": stored,
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
