"""Retraining end to end with real processes: a moderation worker and a training worker
(Celery subprocesses on their own queues), the real intake, database and Redis. Moderators
decide comments → an admin retrains → a new version with metrics → promote → new comments
carry it → roll back → they carry the old one. And: a training worker killed mid-run
leaves a stale run that a new run (from `vimod model retrain --wait`) supersedes; a
duplicate delivery of a finished run trains nothing.

The base data folder is a temporary one (no public datasets: the runs train on the
decisions and the shipped news-spam set, or on a generated file), so a run takes seconds.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from models.classifier.registry import Registry
from service import moderation
from service.queueing import enqueue_retrain, make_producer
from service.storage import Comment, TrainingRun, User
from tests.celery_processes import ROOT, CeleryProcesses
from tests.classifier.conftest import CLEAN, HATE, OFFENSIVE, SPAM
from tests.helpers import headers, payload
from tests.test_end_to_end import wait_for_status
from tests.test_review import csrf, login, ui  # noqa: F401 - ui is a fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(ui, settings, tmp_path, monkeypatch) -> Iterator[dict]:  # noqa: ANN001, F811
    """The app (as `ui`), a fresh registry and base data folder shared with the workers,
    and `start(queues)` for worker processes."""
    registry = tmp_path / "registry"
    base = tmp_path / "base"
    base.mkdir()
    for name, value in (("VIMOD_MODEL_REGISTRY", str(registry)),
                        ("VIMOD_BASE_DATA", str(base)), ("VIMOD_RETRAIN_HEARTBEAT", "1"),
                        ("VIMOD_MODEL_RECHECK_SECONDS", "0.5")):
        monkeypatch.setenv(name, value)
    settings.instance.mkdir(parents=True, exist_ok=True)
    processes = CeleryProcesses(settings)

    def start(queues: str) -> subprocess.Popen:
        if queues == "training":
            return processes.worker(queues, "-c", "1", "--prefetch-multiplier", "1",
                                    "--max-tasks-per-child", "1")
        return processes.worker(queues)

    app, keys = ui
    yield {"app": app, "keys": keys, "registry": Registry(registry), "base": base,
           "start": start, "logs": settings.instance}
    processes.stop()


def wait_run(sessions, run_id: int, until: Callable[[TrainingRun], bool],  # noqa: ANN001
             timeout: float = 60) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as s:
            run = s.get(TrainingRun, run_id)
        if until(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id}: {run.status} {run.stage} {run.message}")


def post(app, key: str, body: str) -> int:  # noqa: ANN001
    r = app.test_client().post("/api/v1/comments", json=payload(body=body), headers=headers(key))
    assert r.status_code == 202
    return r.json["id"]


def version_of_new_comments(app, key: str, sessions, want: str, since: float) -> float:  # noqa: ANN001
    """Post comments until one is analysed by model ``want``; seconds from ``since``."""
    n = 0
    while time.monotonic() - since < 10:
        n += 1
        cid = post(app, key, f"Mong thành phố sớm sửa đường, ý kiến số {n}")
        if wait_for_status(sessions, cid, "pending", timeout=10).model_version == want:
            return time.monotonic() - since
        time.sleep(0.3)
    raise AssertionError(f"new comments still not scored by {want} after 10 s")


DECIDED = ([(t, "clean") for t in CLEAN[:16]] + [(t, "spam") for t in SPAM[:10]]
           + [(t, "offensive") for t in OFFENSIVE[:4]])


def test_decide_retrain_promote_rollback(stack, sessions) -> None:  # noqa: ANN001
    app, registry = stack["app"], stack["registry"]
    site_id, key = stack["keys"]["a"]
    stack["start"]("moderation,maintenance")
    stack["start"]("training")
    ids = {post(app, key, text): label for text, label in DECIDED}
    with sessions() as s:
        moderator = s.scalar(select(User).where(User.username == "bientap_a"))
    for cid, label in ids.items():            # analysed by the shipped model...
        comment = wait_for_status(sessions, cid, "pending", timeout=60)
        assert comment.model_version == "default"
        with sessions() as s:                 # ...and decided by a moderator
            comment = s.get(Comment, cid)
            if label == "clean":
                moderation.approve(s, comment, moderator.id, moderator.username)
            else:
                moderation.reject(s, comment, moderator.id, moderator.username, label)

    admin = app.test_client()
    login(admin, "quantri")
    token = csrf(admin.get("/admin/retrain").get_data(as_text=True))
    assert admin.post("/admin/retrain", data={
        "csrf_token": token, "decisions_only": "yes",        # the base folder is partial,
        "allow_missing_labels": "yes"}).status_code == 303   # the decisions have no hate
    with sessions() as s:
        run_id = s.scalar(select(TrainingRun.id))
    seen = set()

    def finished(run: TrainingRun) -> bool:
        seen.add(admin.get(f"/admin/retrain/runs/{run_id}.json").json["stage"])
        return run.status not in ("queued", "running")

    run = wait_run(sessions, run_id, finished)
    assert run.status == "succeeded", run.message
    assert len(seen) >= 2, seen                       # the page saw it move
    version = run.version
    assert registry.versions() == [version] and registry.active_version() == "default"
    metrics = registry.info(version)["metrics"]
    assert metrics["held_out"]["n"] == 6              # the newest 20 % of 30 decisions
    assert metrics["held_out"] == run.metrics["held_out"]
    assert metrics["baseline"]["version"] == "default"
    assert "cross_validation" in metrics
    page = admin.get("/admin/retrain").get_data(as_text=True)
    assert f'href="/admin/models/{version}"' in page

    promoted = time.monotonic()
    registry.promote(version)
    version_of_new_comments(app, key, sessions, version, promoted)
    rolled_back = time.monotonic()
    registry.rollback()
    version_of_new_comments(app, key, sessions, "default", rolled_back)


def write_base(base: Path, rows: int) -> None:
    """A generated base file in ViHSD's shape (free_text, label_id 0/1/2)."""
    rng = random.Random(5)
    pools = [(CLEAN, 0), (OFFENSIVE, 1), (HATE, 2)]
    with (base / "vihsd_train.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["free_text", "label_id"])
        for i in range(rows):
            pool, label = pools[0] if i % 4 else pools[1 + i % 8 // 4]
            w.writerow([f"{rng.choice(pool)} {rng.choice(CLEAN)} số {i}", label])


def test_killed_training_worker_leaves_a_stale_run(stack, sessions) -> None:  # noqa: ANN001
    app, registry = stack["app"], stack["registry"]
    write_base(stack["base"], 12000)     # a run of several seconds: time to kill it
    victim = stack["start"]("training")
    admin = app.test_client()
    login(admin, "quantri")
    token = csrf(admin.get("/admin/retrain").get_data(as_text=True))
    assert admin.post("/admin/retrain", data={
        "csrf_token": token, "decisions_only": "yes",        # the base folder is partial,
        "allow_missing_labels": "yes"}).status_code == 303   # the decisions have no hate
    with sessions() as s:
        killed_id = s.scalar(select(TrainingRun.id))
    wait_run(sessions, killed_id, lambda r: r.stage in ("features", "cross_validation"))
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert admin.get(f"/admin/retrain/runs/{killed_id}.json").json["live"] is True
    # Still "running" in the table, but its heartbeat expires (3 × 1 s): stale, and the
    # button works again.
    deadline = time.monotonic() + 10
    while not admin.get(f"/admin/retrain/runs/{killed_id}.json").json["stale"]:
        assert time.monotonic() < deadline, "the killed run never became stale"
        time.sleep(0.3)
    with sessions() as s:
        assert s.get(TrainingRun, killed_id).status == "running"
    assert b"data-stale" in admin.get("/admin/retrain").data

    # A new run from the command line, waiting for a new training worker.
    stack["start"]("training")
    env = dict(os.environ, DATABASE_URL=stack["app"].config["DATABASE_URL"],
               REDIS_URL=stack["app"].config["REDIS_URL"], VIMOD_INSTANCE=str(stack["logs"]),
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "service", "model", "retrain", "--wait",
                           "--json", "--max-base-rows", "2000", "--timeout", "90",
                           "--decisions-only"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "succeeded" and out["id"] == killed_id + 1
    lines = done.stderr.splitlines()                       # progress while waiting
    assert lines[1] == "[  0 %] queued" and lines[-1] == "[100 %] done" and len(lines) >= 4
    with sessions() as s:
        killed = s.get(TrainingRun, killed_id)
    assert killed.status == "failed" and killed.message.startswith("stale")
    assert registry.versions() == [out["version"]]
    # The same run delivered again (a retry, a duplicate): claimed already, nothing trained.
    with sessions() as s:
        task_id = s.get(TrainingRun, out["id"]).task_id
    enqueue_retrain(make_producer(stack["app"].config["REDIS_URL"]), out["id"], task_id + "-2")
    log = stack["logs"] / "worker-1.log"
    deadline = time.monotonic() + 20
    while f"retraining run {out['id']} is not queued" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the duplicate was not handled"
        time.sleep(0.2)
    assert registry.versions() == [out["version"]]
    with sessions() as s:
        assert s.get(TrainingRun, out["id"]).status == "succeeded"


def test_vimod_dev_runs_a_training_worker(tmp_path: Path) -> None:
    """`vimod dev` starts a worker on the training queue beside the moderation one: a run
    queued with `vimod model retrain --wait` against it succeeds."""
    import re

    from service.embedded_redis import free_port

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(VIMOD_INSTANCE=str(tmp_path / "instance"), VIMOD_PORT=str(free_port()),
               VIMOD_BASE_DATA=str(tmp_path / "no-base-data"), PYTHONPATH=str(ROOT),
               VIMOD_MODEL_REGISTRY=str(tmp_path / "registry"), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as log:
        dev = subprocess.Popen([sys.executable, "-m", "service", "dev"], env=env, cwd=tmp_path,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "vimod running" not in log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline and dev.poll() is None, log_path.read_text()
            time.sleep(0.3)
        redis_url = re.search(r"embedded Redis on (\S+)", log_path.read_text()).group(1)
        done = subprocess.run([sys.executable, "-m", "service", "model", "retrain", "--wait",
                               "--json", "--timeout", "90", "--decisions-only",
                               "--allow-missing-labels"], env={**env, "REDIS_URL": redis_url},
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr + log_path.read_text(errors="replace")
        out = json.loads(done.stdout)
        assert out["status"] == "succeeded"
        assert Registry(tmp_path / "registry").versions() == [out["version"]]
        assert "vimod-trainer@" in log_path.read_text(errors="replace")
    finally:
        dev.send_signal(signal.SIGINT)
        assert dev.wait(30) == 0
