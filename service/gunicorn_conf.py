"""gunicorn settings: `gunicorn -c python:service.gunicorn_conf service.wsgi:app`."""

import os

bind = f"{os.environ.get('VIMOD_HOST', '127.0.0.1')}:{os.environ.get('VIMOD_PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-" if os.environ.get("VIMOD_ACCESS_LOG") == "1" else None


def child_exit(server, worker):  # noqa: ANN001, ANN201
    # Multi-process Prometheus: forget the live gauges of a worker that exited.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):  # noqa: ANN001, ANN201
    # The diacritics model answers the reader's form; load it before the first request.
    from models.diacritics import get_model

    get_model()
