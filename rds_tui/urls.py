"""Base URLs as the user may see them: never with a user:password@ part.

Credentials travel only as a client's auth, never inside a URL; a URL that still carries
them (an old run file, a hand-edited one) is shown, stored and used without them.
Standard library only: the API layer, the credential resolution and the run history all
use it.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def without_userinfo(url: str) -> str:
    """`url` without a user:password@ part (the rest exactly as written)."""
    parts = urlsplit(str(url))
    if "@" not in parts.netloc:
        return str(url)
    # After the last "@": host and port as written ([::1]:8443 keeps its brackets).
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
