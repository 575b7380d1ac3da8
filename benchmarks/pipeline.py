"""Moderation pipeline throughput and latency, with a real Celery worker.

    make bench-pipeline      # or: .venv/bin/python benchmarks/pipeline.py [--database-url URL]

1. Throughput: N comments are stored as `received` and queued at once; a worker
   (prefork, 2 processes, micro-batches) brings them to `pending`; comments/s from the
   first enqueue to the last `analysed_at`.
2. Latency: comments posted through the real intake (gunicorn) at a steady rate
   (default 100/s); per comment, `analysed_at - received_at`; p50/p99.
Also reports the worker's resident memory (models loaded). Starts its own Redis; the
database is a fresh SQLite file unless --database-url names a PostgreSQL database
(its tables are dropped and recreated).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from models.fingerprint import text_key  # noqa: E402
from service.accounts import create_site  # noqa: E402
from service.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from service.queueing import enqueue_comment  # noqa: E402
from service.storage import Article, Comment, make_engine, make_session_factory  # noqa: E402
from service.storage.migrate import recreate, upgrade  # noqa: E402

SAMPLES = [
    "Bài viết rất hữu ích, cảm ơn tác giả. Mong tỉnh sớm hoàn thành chuyển đổi số!",
    "Bai viet hay qua, cam on tac gia nhe. Mong chinh quyen som giai quyet",
    "ko bít j lun, thủ tục này có dc làm online ko ạ? Ai bít chỉ mình vs",
    "Đề nghị cơ quan chức năng kiểm tra lại việc cấp phép xây dựng ở phường này.",
    "Vay tiền nhanh lãi suất thấp, giải ngân trong ngày, ib zalo 0912 345 678",
    "Đ.m bọn tham nhũng, phải xử thật nặng vào",
    "Giá xăng tăng liên tục thế này thì dân sống sao nổi, mong nhà nước có biện pháp",
    "Cảm ơn các y bác sĩ đã vất vả chống dịch, chúc mọi người luôn mạnh khỏe",
]


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS summed over the process tree, PSS: shared pages split between the sharers)."""
    rss = pss = 0
    for child in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{child}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except FileNotFoundError:
            pass
    return rss / 1024, pss / 1024


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in children(k)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=100.0, help="comments/s for the latency run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vimod-pipe-"))
    redis_server = EmbeddedRedis(tmp / "redis").start()
    url = args.database_url or f"sqlite:///{tmp / 'pipe.db'}"
    if url.startswith("postgresql"):
        recreate(url)  # a reused database: start from an empty schema
    else:
        upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        site = create_site(s, "Bench")
        s.commit()
        site_id, key = site.site.id, site.api_key
        article = Article(site_id=site_id, external_id="bench")
        s.add(article)
        s.commit()
        article_id = article.id

    env = dict(os.environ, REDIS_URL=redis_server.url, DATABASE_URL=url, SECRET_KEY="bench",
               VIMOD_INSTANCE=str(tmp / "instance"), VIMOD_RATELIMIT_ENABLED="0",
               PYTHONPATH=str(ROOT))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q",
         "moderation,maintenance", "-c", str(args.concurrency), "-l", "WARNING"],
        env=env, cwd=ROOT, stdout=(tmp / "worker.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "service.wsgi:app"], env=env, cwd=ROOT, stdout=(tmp / "web.log").open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True)
    broker = redis.Redis.from_url(redis_server.url)
    results: dict = {"database": url.split(":", 1)[0], "concurrency": args.concurrency}
    try:
        time.sleep(6)  # worker boot + model load
        # --- throughput ---------------------------------------------------------------
        rnd = random.Random(1)
        rows = []
        for i in range(args.comments):
            body = f"{rnd.choice(SAMPLES)} (#{i})"
            rows.append(dict(site_id=site_id, article_id=article_id, author_name=f"Độc giả {i}",
                             author_email=f"r{i}@example.vn", client_ip=f"14.{i % 250}.1.1",
                             body_original=body, text_key=text_key(body), status="received",
                             enqueue_count=1))
        with sessions() as s:
            ids = list(s.execute(insert(Comment).returning(Comment.id), rows).scalars())
            s.commit()
        start = time.time()
        for cid in ids:
            enqueue_comment(broker, cid)
        # Poll lightly (the figure comes from the last analysed_at, not from this loop): a
        # range, not 5,000 ids, and twice a second, so the benchmark takes little of the CPU
        # it measures. The range holds only these comments (one INSERT, nothing else writes).
        while True:
            with sessions() as s:
                left = s.scalar(select(func.count()).select_from(Comment).where(
                    Comment.status == "received", Comment.id.between(min(ids), max(ids))))
            if left == 0:
                break
            time.sleep(0.5)
        with sessions() as s:
            last = s.scalar(select(func.max(Comment.analysed_at)).where(Comment.id.in_(ids)))
        results["throughput_per_s"] = len(ids) / (last.timestamp() - start)
        results["worker_rss_mb"], results["worker_pss_mb"] = memory_mb(worker.pid)
        print(f"throughput run: {results['throughput_per_s']:.0f} comments/s", flush=True)
        # --- latency at a steady rate through the intake ------------------------------
        posted: list[int] = []
        lock = threading.Lock()

        def post(i: int) -> None:
            body = json.dumps({"article": {"id": "lat"}, "author": {
                "name": "Độc giả", "email": f"l{i}@example.vn"},
                "body": f"{SAMPLES[i % len(SAMPLES)]} [{i}]",
                "client": {"ip": f"113.{i % 250}.2.{i % 200 + 1}"}}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/comments", data=body,
                                         headers={"X-Api-Key": key,
                                                  "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp, lock:
                posted.append(json.loads(resp.read())["id"])

        n = int(args.rate * args.seconds)
        t0 = time.monotonic()
        threads = []
        for i in range(n):
            delay = t0 + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            th = threading.Thread(target=post, args=(i,))
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
        deadline = time.time() + 60
        while time.time() < deadline:
            with sessions() as s:
                left = s.scalar(select(func.count()).select_from(Comment).where(
                    Comment.status == "received", Comment.id.in_(posted)))
            if not left:
                break
            time.sleep(0.2)
        with sessions() as s:
            pairs = s.execute(select(Comment.received_at, Comment.analysed_at).where(
                Comment.id.in_(posted))).all()
        unfinished = sum(1 for _, a in pairs if a is None)
        # An unfinished comment counts as slower than any finished one.
        lat = sorted((a - r).total_seconds() * 1000 if a else float("inf") for r, a in pairs)
        results["latency_unfinished"] = unfinished
        results.update(latency_rate=args.rate, latency_n=len(lat),
                       latency_p50_ms=statistics.median(lat),
                       latency_p99_ms=lat[int(len(lat) * 0.99) - 1])
    finally:
        for p in (worker, web):
            os.killpg(p.pid, signal.SIGTERM)
        for p in (worker, web):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        redis_server.stop()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"pipeline throughput: {results['throughput_per_s']:.0f} comments/s "
          f"({args.comments} comments, {args.concurrency} worker processes, "
          f"{results['database']})")
    print(f"intake → analysed at {args.rate:.0f}/s: p50 {results['latency_p50_ms']:.0f} ms, "
          f"p99 {results['latency_p99_ms']:.0f} ms ({results['latency_n']} comments, "
          f"{results['latency_unfinished']} not analysed within 60 s)")
    print(f"worker memory, all {args.concurrency + 1} processes: PSS "
          f"{results['worker_pss_mb']:.0f} MB (RSS summed {results['worker_rss_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
