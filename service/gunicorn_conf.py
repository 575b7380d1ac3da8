"""gunicorn settings: `gunicorn -c python:service.gunicorn_conf service.wsgi:app`."""

import os

bind = f"{os.environ.get('VIMOD_HOST', '127.0.0.1')}:{os.environ.get('VIMOD_PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-" if os.environ.get("VIMOD_ACCESS_LOG") == "1" else None


def on_starting(server):  # noqa: ANN001, ANN201
    # Metrics on their own port are merged from the workers' files: the folder must exist
    # before the workers start (and import prometheus_client).
    if os.environ.get("VIMOD_METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from service.metrics_server import ensure_multiprocess_dir

        os.environ["VIMOD_METRICS_DIR_MADE"] = ensure_multiprocess_dir()


def on_exit(server):  # noqa: ANN001, ANN201
    if made := os.environ.get("VIMOD_METRICS_DIR_MADE"):
        import shutil

        shutil.rmtree(made, ignore_errors=True)


def when_ready(server):  # noqa: ANN001, ANN201
    # VIMOD_METRICS_PORT: the master serves /metrics there for every worker (README).
    if port := os.environ.get("VIMOD_METRICS_PORT"):
        from service.config import Settings
        from service.metrics_server import start

        settings = Settings.from_env()
        start(int(port), os.environ.get("VIMOD_HOST", "127.0.0.1"), settings.redis_url,
              settings.database_url)


def child_exit(server, worker):  # noqa: ANN001, ANN201
    # Multi-process Prometheus: forget the live gauges of a worker that exited.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):  # noqa: ANN001, ANN201
    # The diacritics model answers the reader's form; load it before the first request.
    from models.diacritics import get_model

    get_model()
