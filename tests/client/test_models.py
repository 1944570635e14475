"""Wire models read what servers send: the original endpoint's sparse JSON, the plugin's
richer JSON, and fields or states this client does not know yet."""

from __future__ import annotations

from rds_tui.models import Catalog, ProbeResult, Task, TaskState, TestInfo

from .fakepulp import GUIDE_CATALOG, ORIGINAL_RESULT


def test_original_result_reads_into_probe_result():
    task = Task.model_validate(
        {
            "pulp_href": "/pulp/api/v3/tasks/a1/",
            "state": "completed",
            "result": ORIGINAL_RESULT,
            "unknown_field": 1,
        }
    )
    result = task.probe_result()
    assert isinstance(result, ProbeResult)
    assert result.died is True and result.status == "FAILED"
    assert task.model_extra == {"unknown_field": 1}


def test_probe_result_keeps_a_field_of_unexpected_type():
    result = ProbeResult.lenient({"connection_alive": True, "backend_pid": "not-a-pid"})
    assert result.connection_alive is True and result.backend_pid is None
    assert result.model_extra["raw_backend_pid"] == "not-a-pid"


def test_unknown_task_state_is_not_final():
    assert not Task(pulp_href="/x/1/", state="paused").is_final
    assert Task(pulp_href="/x/1/", state="skipped").is_final
    assert {s.value for s in TaskState} == {
        "waiting",
        "skipped",
        "running",
        "canceling",
        "completed",
        "failed",
        "canceled",
    }


def test_guide_catalog_is_completed_from_the_builtin_one():
    infos = Catalog.model_validate(GUIDE_CATALOG).test_infos()
    assert [i.name for i in infos] == GUIDE_CATALOG["available_tests"]
    assert all(i.description for i in infos)
    assert infos[5].pinned_by_rds_proxy is True  # from the built-in catalog


def test_plugin_catalog_fields_are_read():
    info = TestInfo.model_validate(
        {
            "name": "test_9_new",
            "number": 9,
            "title": "New",
            "proxy_pins": False,
            "brand_new_field": [1],
        }
    )
    assert info.pinned_by_rds_proxy is False and info.number == 9
    assert info.model_extra == {"brand_new_field": [1]}
    catalog = Catalog.model_validate(
        {
            "available_tests": ["test_9_new"],
            "tests": [info.model_dump(by_alias=True)],
            "expected_cutoff_seconds": 2400,
        }
    )
    assert catalog.test_infos()[0].title == "New"
    assert catalog.expected_cutoff_seconds == 2400
