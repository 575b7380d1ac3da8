"""A real webhook receiver for the tests: a threaded HTTP server on 127.0.0.1 that checks every
request's signature with the verification snippet of docs/webhooks.md (taken from the file, so
the documentation cannot drift from what vimod sends), records it, and answers as scripted."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def documented_block(language: str) -> str:
    """The first fenced code block of `language` under "## Verifying a delivery"."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Verifying a delivery", 1)[1]
    match = re.search(rf"^```{language}\n(.*?)^```", section, re.M | re.S)
    assert match, f"no {language} block in {DOC}"
    return match.group(1)


def documented_python_verifier() -> Callable[..., bool]:
    namespace: dict[str, Any] = {}
    exec(compile(documented_block("python"), str(DOC), "exec"), namespace)  # noqa: S102
    return namespace["verify_vimod_webhook"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int
    at: float

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str
    # Status to answer to the n-th request (0-based) of a delivery id; 200 past the end.
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        """Requests answered 2xx with a valid signature: what the site actually took in."""
        return [r for r in self.requests if r.verified and 200 <= r.answered < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return
            time.sleep(0.05)
        raise AssertionError(f"receiver: condition not met in {timeout}s; got {self.requests}")


@contextmanager
def receiver(secret: str, script: list[int] | None = None, delay: float = 0.0,
             path: str = "/hooks/vimod") -> Iterator[Receiver]:
    verify = documented_python_verifier()
    state = Receiver(url="", secret=secret, script=list(script or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify(state.secret, body, self.headers.get("X-Vimod-Timestamp", ""),
                        self.headers.get("X-Vimod-Signature", ""))
            delivery = self.headers.get("X-Vimod-Delivery", "")
            with state.lock:
                seen = sum(1 for r in state.requests if r.header("X-Vimod-Delivery") == delivery)
                status = 401 if not ok else (
                    state.script[seen] if seen < len(state.script) else 200)
                state.requests.append(Received(dict(self.headers.items()), body, ok, status,
                                               time.monotonic()))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
