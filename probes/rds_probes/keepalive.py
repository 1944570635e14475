"""TCP keepalives of a probe connection: what libpq is asked for, what the socket really has.

libpq applies keepalives_* with setsockopt on the socket it opens; reading them back with
getsockopt shows what the kernel really uses (a Unix socket or a platform without
TCP_KEEPIDLE has none), so a result never claims keepalives that were not there.
"""

import os
import socket

# Unanswered keepalives before the kernel gives a connection up. The count only matters
# for a silent peer; a proxy that is alive answers every keepalive.
KEEPALIVE_COUNT = 3


def libpq_parameters(interval_seconds: int) -> dict:
    """libpq connection parameters: first keepalive after `interval_seconds` idle, then
    one every `interval_seconds`."""
    return {
        "keepalives": 1,
        "keepalives_idle": interval_seconds,
        "keepalives_interval": interval_seconds,
        "keepalives_count": KEEPALIVE_COUNT,
    }


def socket_keepalive(fd: int) -> dict:
    """The keepalive settings of the socket `fd` (getsockopt), without taking it over.

    {"so_keepalive", "tcp_keepidle", "tcp_keepintvl", "tcp_keepcnt"}; {"error": ...}
    when the socket is not a TCP socket or the platform lacks an option.
    """
    try:
        # A duplicate of the descriptor (closing it leaves libpq's socket alone); given only
        # a descriptor, socket() reads the real family from it.
        with socket.socket(fileno=os.dup(fd)) as sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return {"error": "not a TCP socket (a Unix socket has no keepalives)"}
            return {
                "so_keepalive": bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)),
                "tcp_keepidle": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "tcp_keepintvl": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "tcp_keepcnt": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            }
    except (OSError, AttributeError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
