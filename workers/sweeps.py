"""The sweeps' clock, kept by every worker: no single process whose loss stops the sweeps.

The sweeps (comments stuck in `received`, webhook deliveries overdue) used to be scheduled by
one Celery beat process; with it down for 140 s, 129 comments waited in `received` until it
came back. Now each worker process (whatever its queues) runs this clock in a thread: every
VIMOD_SWEEP_INTERVAL, the first worker to set a Redis key that lives one interval
(SET NX PX) queues both sweeps; the others see the key and do nothing. Kill any worker and
the next tick of another one queues them: at most one interval and one tick late, never
twice in one interval.

Why not several beats with a lock (celery-redbeat): a standby beat takes over only once
the dead one's lock has expired (minutes, by default), a beat exits when Redis is
unavailable or restarted (its lock and schedule live there), and it is one more process
to deploy and watch. Sweeps need workers to run them anyway: where there is a worker,
there is now a clock.

Each sweep records when it last finished (service.queueing.record_sweep); /readyz reports
it and /metrics exports `vimod_sweep_age_seconds`, to alert on when no sweep runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

from redis import Redis

from service.outages import OutageLog
from service.queueing import SWEEPS, task_message

log = logging.getLogger(__name__)

TICK_KEY = "vimod:sweep:tick"
# Ticks per interval: how late the sweeps may be after the worker that queued the last
# ones died (a quarter of an interval, at most 5 s).
TICKS_PER_INTERVAL = 4
MAX_TICK_SECONDS = 5.0


class SweepClock:
    def __init__(self, redis: Redis, interval: float, name: str) -> None:
        self.redis = redis
        self.interval = max(0.1, float(interval))
        self.name = name
        self.tick_seconds = min(self.interval / TICKS_PER_INTERVAL, MAX_TICK_SECONDS)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = OutageLog(log, "Redis", "no sweeps are queued until it answers",
                                 "ticks without a sweep")

    def tick(self) -> bool:
        """Queue the sweeps if no worker has this interval; True if this one did."""
        try:
            if not self.redis.set(TICK_KEY, self.name, nx=True,
                                  px=int(self.interval * 1000)):
                self._outage.ok()
                return False
            # A sweep still queued after an interval is superseded by the next one.
            expires = (datetime.now(UTC) + timedelta(seconds=self.interval)).isoformat()
            with self.redis.pipeline(transaction=False) as pipe:
                for task, queue in SWEEPS.values():
                    pipe.lpush(queue, task_message(task, [], queue, expires=expires,
                                                   task_id=str(uuid.uuid4())))
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis trouble: the next tick tries again
            self._outage.failed(exc)
            return False
        self._outage.ok()
        return True

    def _run(self) -> None:
        self.tick()
        while not self._stop.wait(self.tick_seconds):
            self.tick()

    def start(self) -> SweepClock:
        self._thread = threading.Thread(target=self._run, name="vimod-sweep-clock",
                                        daemon=True)
        self._thread.start()
        log.info("sweep clock: every %g s (checked every %g s)", self.interval,
                 self.tick_seconds)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.tick_seconds + 3)
