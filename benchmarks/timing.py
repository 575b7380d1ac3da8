"""What the page benchmarks share: an empty database to fill, timing a call repeatedly, and
signing a test client in."""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.storage.migrate import recreate, upgrade

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def fresh_database(url: str | None, name: str) -> tuple[str, Path]:
    """The given database emptied to the current schema (a reused PostgreSQL database starts
    over), or a new SQLite file; and a scratch folder for the run."""
    tmp = Path(tempfile.mkdtemp(prefix=f"vimod-{name}-"))
    url = url or f"sqlite:///{tmp / (name + '.db')}"
    if url.startswith("postgresql"):
        recreate(url)
    else:
        upgrade(url)
    return url, tmp


def report(label: str, fn: Callable[[], object], repeat: int, width: int = 24) -> None:
    """Call `fn` `repeat` times and print the label, p50 and p95 in ms."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(f"{label:{width}s} {statistics.median(times):8.1f} {p95:8.1f}")


def sign_in(client, username: str, password: str) -> None:  # noqa: ANN001
    """Sign a Flask test client in through the real form (CSRF token included)."""
    html = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": username, "password": password,
                                "csrf_token": _CSRF.search(html).group(1)})
