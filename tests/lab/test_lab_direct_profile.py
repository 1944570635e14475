"""`lab up` saves the lab twice: `lab` (the probes run in Pulp) and `lab-direct` (the
probes run from this machine straight to the lab's proxy), both on the lab's clock and
cutoffs, so `rds-tui probe --profile lab-direct` reads like a lab run through Pulp."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rds_tui import cli
from rds_tui.cli.lab import _save_profile
from rds_tui.lab.state import LabState
from rds_tui.profiles import ProfileStore

pytestmark = pytest.mark.lab


def test_probe_with_the_lab_direct_profile_measures_the_labs_cutoffs(lab: dict[str, Any], capsys):
    assert _save_profile(LabState.model_validate(lab)) == "lab"
    profile = ProfileStore().get("lab-direct")
    assert profile.kind == "direct" and profile.dsn is not None
    assert lab["probe"]["password"] not in profile.dsn  # kept apart, in `password`

    code = cli.main(
        ["probe", "--profile", "lab-direct", "-t", "1", "-t", "3", "--duration", "8", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    document = json.loads(out)
    assert document["options"]["time_unit_seconds"] == 1
    assert document["options"]["expected_cutoff_seconds"] == lab["idle_timeout"]
    assert (
        document["options"]["expected_in_transaction_cutoff_seconds"]
        == lab["idle_in_transaction_timeout"]
    )
    results = {task["test_name"]: task["result"] for task in document["tasks"]}
    idle, transaction = results["test_1_idle_connection"], results["test_3_long_transaction"]
    # PgBouncer cuts the idle client at 3 s; PostgreSQL the idle transaction at 5 s.
    assert idle["disconnected"] and 3.0 <= idle["seconds_to_disconnect"] < 4.5
    assert transaction["sqlstate"] == "25P03"
    assert 5.0 <= transaction["seconds_to_disconnect"] < 6.5
    assert lab["probe"]["password"] not in out + err
