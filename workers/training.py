"""The retraining task, on the `training` queue (its own workers: `celery worker -Q
training --concurrency 1 --max-tasks-per-child 1`), a thin wrapper around
service.retraining.execute_run."""

from __future__ import annotations

import logging
from functools import cache

import redis as redis_lib
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import retraining
from service.queueing import QUEUE_TRAINING, TASK_RETRAIN
from service.storage import make_engine, make_session_factory

log = logging.getLogger(__name__)


@cache
def _sessions() -> sessionmaker[Session]:
    from workers.celery_app import celery

    return make_session_factory(make_engine(celery.conf.vimod_settings.database_url))


@cache
def _redis() -> redis_lib.Redis:
    from workers.celery_app import celery

    return redis_lib.Redis.from_url(celery.conf.vimod_settings.redis_url, socket_timeout=5)


# acks_late: a worker killed mid-run gives the message back, and the redelivery finds the
# run no longer queued (execute_run claims queued → running), so it never trains twice;
# the killed run shows as stale on the page. The hard time limit is the staleness limit.
# autoretry on a database error: claiming the run is a conditional UPDATE, so a retry after
# the database hiccuped (before or after the claim) never trains twice.
@shared_task(name=TASK_RETRAIN, queue=QUEUE_TRAINING, acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError,), retry_backoff=5, max_retries=5,
             soft_time_limit=max(retraining.run_timeout() - 30, retraining.run_timeout() * 0.9),
             time_limit=retraining.run_timeout())
def retrain(run_id: int) -> bool:
    retraining.lower_priority()
    try:
        return retraining.execute_run(_sessions(), run_id, redis_client=_redis())
    except SoftTimeLimitExceeded:
        with _sessions()() as session:
            retraining.mark_failed(session, run_id, f"stopped after the time limit of "
                                   f"{retraining.run_timeout():.0f} s", (retraining.RUNNING,))
        return True
