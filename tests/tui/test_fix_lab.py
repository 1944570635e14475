"""The dashboard's "verify a fix" against the real lab (PgBouncer session mode, PostgreSQL's
idle-session timeout of 3 s; 1 "minute" = 1 s), with the keyboard: test 6 dies, then `v`
on its diagnosis runs test 6 next to test 8 and the verdict says the heartbeat holds."""

from __future__ import annotations

import pytest
from server.labpulp import Pulp

from rds_tui.app import RdsTuiApp
from rds_tui.profiles import Profile
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.diagnosis import DiagnosisScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.verify import VerifyFormScreen
from rds_tui.widgets.run_header import RunHeader

from .conftest import SIZE
from .helpers import shown_text, wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def pulp(lab):
    admin = Pulp(lab)
    admin.cancel_all()
    yield lab
    admin.cancel_all()


async def wait_for_the_end(pilot) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen), what="monitor")
    monitor = pilot.app.screen
    await wait_for(
        pilot, lambda: monitor.query_one(RunHeader).finished, timeout=90, what="the run's end"
    )


async def test_verify_the_heartbeat_from_the_diagnosis(pulp, profile_store, run_store):
    profile_store.upsert(
        Profile(
            name="lab",
            api_root=pulp["api_root"],
            username=pulp["username"],
            password=pulp["password"],
        )
    )
    app = RdsTuiApp(
        profile_name="lab",
        profile_store=profile_store,
        run_store=run_store,
        default_poll_interval=0.5,
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        await wait_for(pilot, lambda: app.screen.offline_reason is None, what="the catalog")
        # Test 6 alone for 5 "minutes": it dies at the lab's 3 s cutoff.
        await pilot.press("down", "down", "down", "down", "down", "space")
        await pilot.press("tab", "backspace", "backspace", "5", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for_the_end(pilot)
        await pilot.press("g")
        assert isinstance(app.screen, DiagnosisScreen)
        await pilot.press("v")
        assert isinstance(app.screen, VerifyFormScreen)
        # The offered heartbeat: half the measured cutoff (3 s), in whole seconds.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert "Verify --heartbeat 1 on lab" in message
        assert "5 minutes of the server (5.00 s)" in message
        await pilot.press("y")
        await wait_for_the_end(pilot)
        await pilot.press("g")
        body = shown_text(app.screen.query_one("#diagnosis-body"))
        assert "Fix verdict: The fix holds: A client heartbeat (SELECT 1) every 1.00 s" in body
        assert "WORKER_TTL = 3" in body
        run = run_store.get("last")
        assert run.tests == ["test_6_listen_notify", "test_8_listen_with_heartbeat"]
        assert run.options["heartbeat_interval_seconds"] == 1
