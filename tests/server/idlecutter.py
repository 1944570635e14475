"""A TCP forwarder that cuts idle clients the way RDS Proxy does: silently.

After `idle` seconds without a byte from the client it closes both sides, sending no
error message first (RDS Proxy's IdleClientTimeout closes the TCP connection). Bytes from
the server (query results, notifications) do not count as client activity.

`freeze()` simulates a network partition instead: from then on nothing is forwarded and
nothing is closed.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Self


class IdleCutter:
    def __init__(self, upstream: tuple[str, int], idle: float):
        self.upstream = upstream
        self.idle = idle
        self.cuts: list[float] = []  # time.time() of each cut
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._frozen = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def freeze(self) -> None:
        """Stop forwarding anything, in both directions, without closing anything."""
        self._frozen.set()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._forward, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _forward(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        peer = {client: server, server: client}
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ)
        selector.register(server, selectors.EVENT_READ)
        last_from_client = time.monotonic()
        try:
            while not self._stop.is_set():
                if self._frozen.is_set():
                    self._stop.wait(0.2)  # hold both sockets open, forward nothing
                    continue
                remaining = last_from_client + self.idle - time.monotonic()
                if remaining <= 0:
                    self.cuts.append(time.time())
                    return
                for key, _ in selector.select(min(remaining, 0.2)):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    peer[key.fileobj].sendall(data)
                    if key.fileobj is client:
                        last_from_client = time.monotonic()
        except OSError:
            return
        finally:
            selector.close()
            client.close()
            server.close()
