"""`vimod dev`: the whole service on one machine, as child processes of one command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import click
from sqlalchemy import func, select

from service.config import Settings
from service.embedded_redis import EmbeddedRedis


def _first_start(settings: Settings, port: int) -> None:
    """Create a demo site and an admin on an empty database; print their secrets once."""
    from service.accounts import create_site, create_user
    from service.storage import Site, make_engine, make_session_factory

    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        if session.scalar(select(func.count()).select_from(Site)):
            return
        origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
        new = create_site(session, "Demo site", domain="localhost", allowed_origins=origins)
        admin, password = create_user(session, "admin", "admin")
        session.commit()
    engine.dispose()
    click.secho("First start: created a demo site and an admin user.", bold=True)
    click.echo(f"  site id:           {new.site.id}")
    click.echo(f"  secret API key:    {new.api_key}   (shown once)")
    click.echo(f"  public key:        {new.site.public_key}")
    click.echo(f"  admin password:    {password}   (user 'admin', shown once)")
    click.echo(
        f"  try it: curl -s -X POST http://127.0.0.1:{port}/api/v1/comments \\\n"
        f"    -H 'X-Api-Key: {new.api_key}' -H 'Content-Type: application/json' \\\n"
        "    -d '{\"article\": {\"id\": \"1\"}, \"author\": {\"name\": \"Lan\", "
        "\"email\": \"lan@example.vn\"}, \"body\": \"Bài viết rất hay, cảm ơn tác giả!\"}'"
    )


def run_dev() -> int:
    settings = Settings.from_env()
    settings.instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["VIMOD_INSTANCE"] = str(settings.instance)
    env["VIMOD_PORT"] = str(settings.port)
    env.setdefault("DATABASE_URL", settings.database_url)
    env["PYTHONUNBUFFERED"] = "1"
    # Served over plain http on localhost: cookies marked Secure would never come back.
    env.setdefault("VIMOD_SECURE_COOKIES", "0")
    # The demo article page (/demo) with the embedded comment form: the whole loop locally.
    env.setdefault("VIMOD_DEMO", "1")
    # /metrics for anyone on this machine (production: VIMOD_METRICS_TOKEN or _PORT).
    env.setdefault("VIMOD_METRICS_PUBLIC", "1")

    embedded = None
    if not os.environ.get("REDIS_URL"):
        embedded = EmbeddedRedis(settings.instance / "redis").start()
        env["REDIS_URL"] = embedded.url
        click.echo(f"embedded Redis on {embedded.url}")

    # Metrics from several gunicorn workers are merged from files in this folder.
    prom_dir = settings.instance / "prometheus"
    shutil.rmtree(prom_dir, ignore_errors=True)
    prom_dir.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)

    from service.storage.migrate import upgrade

    upgrade(settings.database_url)
    _first_start(settings, settings.port)

    py = sys.executable
    commands = {
        "web": [py, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"],
        # Every worker also keeps the sweeps' clock (workers/sweeps.py): no beat process.
        "worker": [
            py, "-m", "celery", "-A", "workers.celery_app", "worker",
            "-Q", "moderation,maintenance", "--concurrency", "2", "--loglevel", "INFO",
            "--hostname", "vimod-dev@%h",
        ],
        # Webhook deliveries wait on other sites' servers: threads, on a worker of their own,
        # so a slow receiver never holds up moderation.
        "webhooks": [
            py, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "webhooks",
            "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO",
            "--hostname", "vimod-webhooks@%h",
        ],
        # Retraining on a worker of its own (one run at a time, a fresh process per run,
        # at a lower CPU priority): moderation never waits behind training.
        "trainer": [
            py, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "training",
            "--concurrency", "1", "--prefetch-multiplier", "1", "--max-tasks-per-child", "1",
            "--loglevel", "INFO", "--hostname", "vimod-trainer@%h",
        ],
    }
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(_signum=None, _frame=None) -> None:  # noqa: ANN001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        for name, cmd in commands.items():
            children[name] = subprocess.Popen(cmd, env=env, start_new_session=True)
        click.echo(
            f"vimod running at http://127.0.0.1:{settings.port}  (review queue /review, "
            f"API /api/v1, spec /api/v1/openapi.json). Ctrl-C stops everything."
        )
        if env.get("VIMOD_DEMO", "0") not in ("0", "false", ""):
            click.echo(f"open http://127.0.0.1:{settings.port}/demo  (an article with the form)")
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    click.echo(f"{name} exited with code {proc.returncode}; stopping", err=True)
                    code = 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        click.echo("stopping…", err=True)
        for proc in children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if embedded:
            embedded.stop()
    return code
