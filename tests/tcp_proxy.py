"""A TCP proxy the tests control, to put a network partition between vimod and its database.

`TcpProxy(port_of_postgresql).start()` listens on a free local port and forwards every
connection to the target. `silence()` is a partition that refuses nothing: every open
connection stays open but no byte goes through in either direction, and a new connection
is accepted but never answered (what a dropped route, a hung server or a full firewall
table look like to the client: no error, only silence). `resume()` forwards again; what was
sent meanwhile waits in the kernel's buffers and goes on, as after a partition heals.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 65536
_POLL = 0.05


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        # Connections accepted so far (a client that does not even try to connect while it
        # knows the database is unreachable leaves this unchanged).
        self.accepted = 0

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url_through(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0] + "@" if len(netloc) == 2 else ""
        return urlunsplit(parts._replace(netloc=f"{userinfo}127.0.0.1:{self.port}"))

    def start(self) -> TcpProxy:
        self._spawn(self._accept_loop)
        return self

    def silence(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def stop(self) -> None:
        self._stopped.set()
        self._flowing.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()
        for thread in self._threads:
            thread.join(2)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _spawn(self, target, *args) -> None:  # noqa: ANN001, ANN002
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._spawn(self._connect, self._track(client))

    def _wait_flowing(self) -> bool:
        while not self._flowing.wait(_POLL):
            pass
        return not self._stopped.is_set()

    def _connect(self, client: socket.socket) -> None:
        # A connection accepted during a silence is only accepted: the server hears of it
        # when the silence ends.
        if not self._wait_flowing():
            return
        try:
            upstream = self._track(socket.create_connection(self.target, timeout=5))
        except OSError:
            client.close()
            return
        self._spawn(self._pump, client, upstream)
        self._spawn(self._pump, upstream, client)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while self._wait_flowing():
                ready, _, _ = select.select([src], [], [], _POLL)
                if not ready or not self._flowing.is_set():
                    continue  # silenced between select and recv: the bytes wait
                data = src.recv(_CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
