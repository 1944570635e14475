"""Collect next: the exact aws command lines for a run, and the metrics read back.

A production-like run: seven tests started 09:00:12 UTC on a proxy carrying Pulp's own
traffic; tests 1, 5, 6 and 7 cut by the proxy at 40:02 with no SQLSTATE, test 3 by
the database's idle-in-transaction timeout at 30:00 (25P03), tests 2 and 4 alive.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rds_tui.report.collect import (
    METRICS,
    AwsSide,
    MetricsError,
    collect_next,
    parse_metric_data,
    relate,
    spans_of,
)

from .test_report_diagnosis import NAMES

FIXTURE = Path(__file__).parent / "data" / "get-metric-data.json"
START = datetime(2026, 11, 28, 9, 0, 12, tzinfo=UTC)
PROXY_CLOSE = "server closed the connection unexpectedly"


def task(number: int, died_after: float | None, sqlstate: str | None = None) -> dict:
    died = died_after is not None
    end = START + timedelta(seconds=died_after if died else 3000)
    result = {
        "test_name": NAMES[number],
        "started_at": START.isoformat(),
        "finished_at": end.isoformat(),
        "connection_alive": not died,
        "disconnected": died,
        "disconnected_at": end.isoformat() if died else None,
        "seconds_to_disconnect": died_after,
        "server_message": "terminating connection due to idle-in-transaction timeout"
        if sqlstate
        else None,
        "client_message": PROXY_CLOSE if died else None,
        "sqlstate": sqlstate,
        "backend_pid": 4200 + number,
        "backend_pids_seen": [4200 + number],
        "application_name": f"rds-probe:{NAMES[number]}:0000000{number}-aaaa",
        "planned_duration_seconds": 3000,
    }
    return {
        "pulp_href": f"/pulp/api/v3/tasks/0000000{number}-aaaa/",
        "state": "completed",
        "test_name": NAMES[number],
        "started_at": START.isoformat(),
        "finished_at": end.isoformat(),
        "result": result,
    }


def production_run() -> list[dict]:
    return [
        task(1, 2402.1),
        task(2, None),
        task(3, 1800.2, sqlstate="25P03"),
        task(4, None),
        task(5, 2402.3),
        task(6, 2402.2),
        task(7, 2402.4),
    ]


AWS = AwsSide(
    rds_proxy_name="pulp-prod-proxy", aws_region="eu-west-1", db_instance_identifier="pulp-db"
)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_metrics_command_line_asks_for_the_proxy_metrics_over_the_run():
    section = collect_next(spans_of(production_run()), AWS)
    # What the user pastes into a shell, split back as the shell would.
    argv = shlex.split(shlex.join(section.metrics_argv))
    assert argv[:3] == ["aws", "cloudwatch", "get-metric-data"]
    assert option(argv, "--region") == "eu-west-1"
    # Whole minutes, 5 before the first start and after the last end (09:50:12 + 5 min).
    assert option(argv, "--start-time") == "2026-11-28T08:55:00Z"
    assert option(argv, "--end-time") == "2026-11-28T09:56:00Z"
    queries = json.loads(option(argv, "--metric-data-queries"))
    assert [q["MetricStat"]["Metric"]["MetricName"] for q in queries] == list(METRICS)
    for query in queries:
        stat = query["MetricStat"]
        assert stat["Metric"]["Namespace"] == "AWS/RDS"
        assert stat["Metric"]["Dimensions"] == [{"Name": "ProxyName", "Value": "pulp-prod-proxy"}]
        assert stat["Period"] == 60
        assert query["Id"][0].islower()


def test_log_queries_cover_each_disconnect_and_name_its_probes():
    section = collect_next(spans_of(production_run()), AWS)
    # Test 3 alone at 30:00; tests 1, 5, 6 and 7 together at 40:02: two windows, two logs.
    assert len(section.log_queries) == 4
    by_window = {}
    for label, window, argv in section.log_queries:
        argv = shlex.split(shlex.join(argv))
        assert argv[:3] == ["aws", "logs", "start-query"]
        start, end = int(option(argv, "--start-time")), int(option(argv, "--end-time"))
        by_window.setdefault((start, end), []).append(
            (label, option(argv, "--log-group-name"), option(argv, "--query-string"))
        )
    windows = sorted(by_window)
    death_3 = (START + timedelta(seconds=1800.2)).timestamp()
    death_1 = (START + timedelta(seconds=2402.1)).timestamp()
    assert windows[0][0] <= death_3 - 119 and windows[0][1] >= death_3 + 119
    assert windows[1][0] <= death_1 - 119 and windows[1][1] >= death_1 + 119
    groups = {group for entries in by_window.values() for _, group, _ in entries}
    assert groups == {"/aws/rds/instance/pulp-db/postgresql", "/aws/rds/proxy/pulp-prod-proxy"}
    query_40 = by_window[windows[1]][0][2]
    for number in (1, 5, 6, 7):
        assert f"/\\[{4200 + number}\\]/" in query_40
        assert f"rds-probe:{NAMES[number]}" in query_40
    assert "4203" not in query_40 and "4202" not in query_40  # test 3 died elsewhen; 2 lived


def test_unknown_aws_names_are_placeholders_the_text_asks_for():
    section = collect_next(spans_of(production_run()), AwsSide())
    text = "\n".join(section.lines())
    assert "<RDS_PROXY_NAME>" in text and "<AWS_REGION>" in text
    assert "rds_proxy_name" in text  # says which profile field fills it in
    assert "2026-11-28T09:40:14Z" in text  # test 1's disconnect, UTC


def test_a_realistic_metrics_document_is_merged_and_related():
    series = parse_metric_data(json.loads(FIXTURE.read_text()))
    assert {s.metric for s in series} == set(METRICS)
    in_transaction = next(
        s for s in series if s.metric == "DatabaseConnectionsCurrentlyInTransaction"
    )
    assert in_transaction.status == "PartialData"
    assert in_transaction.points == sorted(in_transaction.points)  # newest-first input
    sentences = relate(series, spans_of(production_run()))
    text = "\n".join(sentences)
    assert "Partial data for" in text and "DatabaseConnectionsCurrentlyInTransaction" in text
    pinned = next(s for s in sentences if s.startswith("DatabaseConnectionsCurrentlySessionPinned"))
    assert "rose from 12" in pinned and "counted every pinned probe" in pinned
    closed = [s for s in sentences if s.startswith("ClientConnectionsClosed")]
    assert len(closed) == 2
    at_40 = next(s for s in closed if "09:40:00Z" in s)
    assert "4 probe(s) died" in at_40 and "the proxy counted these closes" in at_40


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([], "not the output of `aws cloudwatch get-metric-data`"),
        ({"Datapoints": []}, "not the output of `aws cloudwatch get-metric-data`"),
        ({"MetricDataResults": {}}, "must be a list"),
        (
            {"MetricDataResults": [{"Label": "CPUUtilization", "Timestamps": [], "Values": []}]},
            "found: CPUUtilization",
        ),
        (
            {
                "MetricDataResults": [
                    {
                        "Label": "ClientConnections",
                        "Timestamps": ["2026-11-28T09:00:00Z"],
                        "Values": [],
                    }
                ]
            },
            "1 Timestamps but 0 Values",
        ),
        (
            {
                "MetricDataResults": [
                    {"Label": "ClientConnections", "Timestamps": ["yesterday"], "Values": [1]}
                ]
            },
            "not an ISO 8601 timestamp",
        ),
        (
            {
                "MetricDataResults": [
                    {
                        "Label": "ClientConnections",
                        "Timestamps": ["2026-11-28T09:00:00Z"],
                        "Values": ["1"],
                    }
                ]
            },
            "is not a number",
        ),
    ],
)
def test_unusable_documents_say_what_is_wrong(document, says):
    with pytest.raises(MetricsError, match=None) as caught:
        parse_metric_data(document)
    assert says in str(caught.value)
