"""`vimod dev` as a user runs it: embedded Redis, migrations, web + workers; a comment
posted with the printed key reaches `pending`; Ctrl-C stops every child."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from service.embedded_redis import free_port
from tests.helpers import VALID

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def _request(url: str, key: str, data: dict | None = None) -> dict:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={
        "X-Api-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_vimod_dev_runs_the_whole_loop(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(VIMOD_INSTANCE=str(tmp_path / "instance"), VIMOD_PORT=str(port),
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "dev.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "service", "dev"], env=env, cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        key = None
        while time.monotonic() < deadline and proc.poll() is None:
            text = log_path.read_text(errors="replace")
            if key is None and (m := re.search(r"secret API key:\s+(\S+)", text)):
                key = m.group(1)
            if key and "vimod running" in text:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    break
                except OSError:
                    pass
            time.sleep(0.3)
        else:
            pytest.fail("vimod dev did not start:\n" + log_path.read_text(errors="replace"))
        assert re.search(r"admin password:\s+\S+", log_path.read_text())
        created = _request(f"http://127.0.0.1:{port}/api/v1/comments", key, VALID)
        assert created["status"] == "received"
        status = created
        while time.monotonic() < deadline and status["status"] != "pending":
            time.sleep(0.3)
            status = _request(created["status_url"], key)
        assert status["status"] == "pending", log_path.read_text(errors="replace")
        # Two gunicorn workers: whichever answers the scrape reports the one accepted comment.
        for _ in range(6):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                metrics = resp.read().decode()
            assert 'vimod_comments_accepted_total{site="1"} 1.0' in metrics, metrics
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, log_path.read_text(errors="replace")
    # Every child (gunicorn, workers, redis) is gone: the port is free again.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    # A second start finds the existing site and prints no new secrets.
    with open(log_path, "wb") as log:
        again = subprocess.Popen([sys.executable, "-m", "service", "dev"], env=env, cwd=tmp_path,
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "vimod running" not in log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline and again.poll() is None
            time.sleep(0.3)
        assert "secret API key" not in log_path.read_text(errors="replace")
    finally:
        again.send_signal(signal.SIGINT)
        assert again.wait(30) == 0
