"""Fixtures for the plugin's end-to-end tests against a real lab.

Every test that dispatches probe tasks leaves none behind: `pulp` (and `pulp_factory`)
cancel whatever RDS test task is still waiting or running when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .labpulp import Pulp


@pytest.fixture
def pulp(lab: dict[str, Any]) -> Iterator[Pulp]:
    client = Pulp(lab)
    client.cancel_all()  # a previous test's leftovers must not count against MAX_ACTIVE
    try:
        yield client
    finally:
        client.cancel_all()
        client.close()


@pytest.fixture
def pulp_factory(lab_factory) -> Iterator[Any]:
    """A Pulp client for a lab with other options; its test tasks are canceled afterwards."""
    clients: list[Pulp] = []

    def make(**options: Any) -> Pulp:
        client = Pulp(lab_factory(**options))
        client.cancel_all()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.cancel_all()
            client.close()
