"""Real Celery worker processes for the end-to-end tests, on the test's Redis and database,
each logging to a file in the instance folder and stopped (its whole process group) when the
test ends. (There is no beat: every worker keeps the sweeps' clock, workers/sweeps.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def process_env(settings, **extra: str) -> dict[str, str]:  # noqa: ANN001
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        VIMOD_INSTANCE=str(settings.instance),
        SECRET_KEY=settings.secret_key,
        VIMOD_SWEEP_AFTER="1",
        VIMOD_SWEEP_INTERVAL="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


class CeleryProcesses:
    def __init__(self, settings, **env: str) -> None:  # noqa: ANN001
        self.settings = settings
        self.extra_env = env
        self.procs: list[subprocess.Popen] = []
        settings.instance.mkdir(parents=True, exist_ok=True)

    def _run(self, kind: str, args: list[str]) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "celery", "-A", "workers.celery_app", kind, "-l", "INFO",
               *args]
        log = open(self.settings.instance / f"{kind}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        # The environment as it is now: a test may set variables after this object was made.
        env = process_env(self.settings, **self.extra_env)
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, queues: str = "moderation,maintenance", *args: str) -> subprocess.Popen:
        """`celery worker -Q queues` (two prefork processes unless `args` say otherwise)."""
        if "-c" not in args:
            args = ("-c", "2", *args)
        return self._run("worker", ["-Q", queues, "--hostname",
                                    f"test-{len(self.procs)}@%h", *args])

    def start(self, kind: str, queues: str = "moderation,maintenance") -> subprocess.Popen:
        assert kind == "worker", "workers are the only Celery processes (no beat)"
        return self.worker(queues)

    def log(self, proc: subprocess.Popen) -> str:
        """What `proc` has logged so far."""
        path = self.settings.instance / f"worker-{self.procs.index(proc)}.log"
        return path.read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
