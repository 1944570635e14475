"""A tiny TCP forwarder for tests and benchmarks: counts the client connections it
accepts, and can cut the server off and bring it back (`outage()`), which is what "the
server went away and came back" looks like to a client.

During an outage the proxy keeps its listening socket, so no other process can take the
port meanwhile: it cuts every open connection and resets each new one at once.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Self

# SO_LINGER on, timeout 0: close() sends a RST, as a server that is gone would.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections_accepted = 0
        self._listener: socket.socket | None = None
        self._down = False  # an outage: new connections are reset, none is forwarded
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept_loop, listener)
        return self

    def stop(self) -> None:
        """Close the listener and cut every open connection (both directions)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self._cut_all()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = [t for t in self._threads if t.is_alive()]

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The server is unreachable inside the block: open connections are cut, new
        ones reset. The port stays this proxy's; forwarding resumes after the block."""
        with self._lock:
            self._down = True
        self._cut_all()
        try:
            yield
        finally:
            with self._lock:
                self._down = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, target, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _shutdown(sock)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = None
            if not self._down:
                try:
                    upstream = socket.create_connection(self.upstream, timeout=5)
                except OSError:
                    pass
            with self._lock:
                forwarding = upstream is not None and not self._down
                if forwarding:
                    self.connections_accepted += 1
                    self._sockets.update((client, upstream))
            if not forwarding:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
                client.close()
                if upstream is not None:
                    upstream.close()
                continue
            upstream.settimeout(None)
            self._spawn(self._pipe, client, upstream)
            self._spawn(self._pipe, upstream, client)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _shutdown(sock)
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(target)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
