"""One log line when Redis or the database becomes unavailable, a count while it stays so,
one line when it is back: never a line (let alone a traceback) per request.

Under load an outage fails every comment the same way; a traceback per comment (≈ 30 a
second) buried everything else in the log. Per process: each gunicorn or Celery process
reports its own outage.
"""

from __future__ import annotations

import logging
import time

# While an outage lasts, how often a process says it still does, with a count.
REPORT_EVERY_SECONDS = 60.0


class OutageLog:
    def __init__(self, logger: logging.Logger, name: str, consequence: str, counted: str
                 ) -> None:
        """`consequence`: what the service does meanwhile; `counted`: what `failed(...,
        count=True)` counts, e.g. "comments left for the sweep"."""
        self.log = logger
        self.name = name
        self.consequence = consequence
        self.counted = counted
        self.since: float | None = None  # monotonic start of the outage; None: no outage
        self._reported = 0.0
        self._count = 0

    def failed(self, exc: BaseException, *, count: bool = True) -> None:
        """A call failed because of the outage (one line at its start, then one a minute)."""
        now = time.monotonic()
        if self.since is None:
            self.since = self._reported = now
            self._count = int(count)
            self.log.error("%s unavailable (%s: %s); %s", self.name, type(exc).__name__,
                           str(exc).strip() or "no message", self.consequence)
            return
        self._count += int(count)
        if now - self._reported >= REPORT_EVERY_SECONDS:
            self._reported = now
            self.log.warning("%s still unavailable after %.0f s: %d %s", self.name,
                             now - self.since, self._count, self.counted)

    def ok(self) -> None:
        """A call succeeded: ends the outage (cheap when there is none: on the hot path)."""
        if self.since is None:
            return
        self.log.warning("%s available again after %.0f s: %d %s", self.name,
                         time.monotonic() - self.since, self._count, self.counted)
        self.since = None
        self._count = 0


REDIS = OutageLog(
    logging.getLogger("vimod.redis"), "Redis",
    "comments from the sites are still stored (202) and the sweep queues them once it is "
    "back; rate limits are not applied meanwhile; the reader form's CAPTCHA answers 503",
    "comments stored but left for the sweep")
DATABASE = OutageLog(
    logging.getLogger("vimod.database"), "Database",
    "requests that need it are answered 503 with Retry-After",
    "requests answered 503")
