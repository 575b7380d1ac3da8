"""What the page benchmarks share: timing a call repeatedly, and signing a test client in."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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
