"""What to collect next for a run: the AWS side of the guide's "Data Collection".

The task results and the exact disconnect times are in the run already. The rest lives
in AWS: RDS Proxy's CloudWatch metrics over the run, and the PostgreSQL and proxy logs
around each disconnect. This module writes the exact `aws` command lines for them (over
the run's UTC window, with the probes' backend pids and application names), reads back
what `aws cloudwatch get-metric-data` printed, and relates those metrics to the probes.

Pure functions over the run's data: no I/O, no front-end words.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rds_tui import catalog
from rds_tui.report.observations import Observation, observe

NAMESPACE = "AWS/RDS"
DIMENSION = "ProxyName"
PERIOD_SECONDS = 60
# Reported per proxy instance; a proxy is served by several: Sum aggregates them.
STATISTIC = "Sum"
METRICS = (
    "ClientConnections",
    "ClientConnectionsClosed",
    "DatabaseConnections",
    "DatabaseConnectionsCurrentlySessionPinned",
    "DatabaseConnectionsCurrentlyBorrowed",
    "DatabaseConnectionsCurrentlyInTransaction",
)
# Before the first probe starts: the baseline the probes' effect is measured against.
WINDOW_MARGIN = timedelta(minutes=5)
# Around each disconnect in the logs.
LOG_MARGIN = timedelta(minutes=2)

PLACEHOLDERS = {
    "rds_proxy_name": "<RDS_PROXY_NAME>",
    "aws_region": "<AWS_REGION>",
    "db_instance_identifier": "<DB_INSTANCE_IDENTIFIER>",
}


class MetricsError(ValueError):
    """The metrics document cannot be used; str() says what is wrong and what to give."""


# --- the AWS side of an instance --------------------------------------------------------


@dataclass(frozen=True)
class AwsSide:
    """Where the instance's proxy, database and logs live (profile fields, all optional)."""

    rds_proxy_name: str | None = None
    aws_region: str | None = None
    db_instance_identifier: str | None = None
    postgres_log_group: str | None = None
    proxy_log_group: str | None = None

    @classmethod
    def from_profile(cls, profile: Any) -> AwsSide:
        if profile is None:
            return cls()
        return cls(**{name: getattr(profile, name, None) for name in cls.__dataclass_fields__})

    def value(self, name: str) -> str:
        return getattr(self, name) or PLACEHOLDERS[name]

    @property
    def postgresql_logs(self) -> str:
        # RDS publishes a PostgreSQL instance's log to this group (AWS's naming).
        return self.postgres_log_group or (
            f"/aws/rds/instance/{self.value('db_instance_identifier')}/postgresql"
        )

    @property
    def proxy_logs(self) -> str:
        return self.proxy_log_group or f"/aws/rds/proxy/{self.value('rds_proxy_name')}"

    @property
    def missing(self) -> list[str]:
        """The fields still shown as placeholders."""
        return [name for name in PLACEHOLDERS if not getattr(self, name)]


# --- the probes of a run, as the collection needs them -----------------------------------


@dataclass(frozen=True)
class ProbeSpan:
    """One probe on the time axis: when it held its connection and how that ended."""

    test_name: str
    started_at: datetime | None
    ended_at: datetime | None  # the disconnect, else the task's end
    died: bool | None
    reason: str | None = None
    sqlstate: str | None = None
    closed_by: str | None = None  # rds_tui.outcome's CLOSED_BY_*: who ended the connection
    pinned: bool | None = None  # a pattern RDS Proxy pins (SET, LISTEN, transactions)
    backend_pids: tuple[int, ...] = ()
    application_name: str | None = None


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def span_of(item: dict[str, Any]) -> ProbeSpan:
    """A task dict (annotated with test_name) as a span, read through the outcome."""
    observation: Observation = observe(item)
    outcome, result = observation.outcome, observation.result
    extra = (result.model_extra or {}) if result is not None else {}
    raw = item.get("result") if isinstance(item.get("result"), dict) else {}
    started = _moment(raw.get("started_at")) or _moment(item.get("started_at"))
    ended = outcome.died_at if outcome.died else None
    ended = ended or _moment(raw.get("finished_at")) or _moment(item.get("finished_at"))
    pids: list[int] = []
    for pid in [*(result.backend_pids_seen or []), result.backend_pid] if result else []:
        if isinstance(pid, int) and not isinstance(pid, bool) and pid not in pids:
            pids.append(pid)
    builtin = catalog.get(outcome.test_name)
    application_name = extra.get("application_name")
    return ProbeSpan(
        test_name=outcome.test_name,
        started_at=started,
        ended_at=ended,
        died=outcome.died,
        reason=outcome.reason,
        sqlstate=outcome.sqlstate,
        closed_by=outcome.closed_by,
        pinned=builtin.pinned_by_rds_proxy if builtin else None,
        backend_pids=tuple(pids),
        application_name=application_name if isinstance(application_name, str) else None,
    )


def spans_of(tasks: Sequence[dict[str, Any]]) -> list[ProbeSpan]:
    return [span_of(task) for task in tasks]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def start_text(self) -> str:
        return iso(self.start)

    @property
    def end_text(self) -> str:
        return iso(self.end)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _ceil_minute(moment: datetime) -> datetime:
    floored = _floor_minute(moment)
    return floored if floored == moment.astimezone(UTC) else floored + timedelta(minutes=1)


def run_window(spans: Sequence[ProbeSpan], margin: timedelta = WINDOW_MARGIN) -> Window | None:
    """The run's UTC window, whole minutes, `margin` before the first start and after
    the last end (None before any probe started)."""
    starts = [s.started_at for s in spans if s.started_at is not None]
    ends = [s.ended_at for s in spans if s.ended_at is not None] or starts
    if not starts:
        return None
    return Window(_floor_minute(min(starts) - margin), _ceil_minute(max(ends) + margin))


# --- CloudWatch metrics ---------------------------------------------------------------


def metric_id(metric: str) -> str:
    """CloudWatch query ids start with a lower-case letter: ClientConnections -> client_connections."""
    out = []
    for index, char in enumerate(metric):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def metric_data_queries(proxy_name: str) -> list[dict[str, Any]]:
    return [
        {
            "Id": metric_id(metric),
            "Label": metric,
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": metric,
                    "Dimensions": [{"Name": DIMENSION, "Value": proxy_name}],
                },
                "Period": PERIOD_SECONDS,
                "Stat": STATISTIC,
            },
        }
        for metric in METRICS
    ]


def get_metric_data_argv(aws: AwsSide, window: Window) -> list[str]:
    """`aws cloudwatch get-metric-data` for the six proxy metrics over the window."""
    queries = json.dumps(metric_data_queries(aws.value("rds_proxy_name")), separators=(",", ":"))
    return [
        "aws",
        "cloudwatch",
        "get-metric-data",
        "--region",
        aws.value("aws_region"),
        "--start-time",
        window.start_text,
        "--end-time",
        window.end_text,
        "--scan-by",
        "TimestampAscending",
        "--metric-data-queries",
        queries,
        "--output",
        "json",
    ]


# --- CloudWatch Logs ------------------------------------------------------------------


@dataclass(frozen=True)
class LogWindow:
    """Minutes of log to read around one or more disconnects close in time."""

    window: Window
    spans: tuple[ProbeSpan, ...]


def disconnect_windows(
    spans: Sequence[ProbeSpan], margin: timedelta = LOG_MARGIN
) -> list[LogWindow]:
    """±margin around each disconnect; overlapping windows (probes that died together)
    are merged into one."""
    dead = sorted((s for s in spans if s.died and s.ended_at is not None), key=lambda s: s.ended_at)
    merged: list[LogWindow] = []
    for span in dead:
        start, end = span.ended_at - margin, span.ended_at + margin
        if merged and start <= merged[-1].window.end:
            last = merged[-1]
            merged[-1] = LogWindow(
                Window(last.window.start, max(end, last.window.end)), (*last.spans, span)
            )
        else:
            merged.append(LogWindow(Window(start, end), (span,)))
    return merged


def _regex_literal(text: str) -> str:
    """`text` inside a Logs Insights /regex/: metacharacters and the delimiter escaped."""
    return "".join("\\" + c if c in r".^$*+?()[]{}|\/" else c for c in text)


def logs_insights_query(spans: Iterable[ProbeSpan]) -> str:
    """A Logs Insights query for the lines of these probes: their backend pids (the
    `[pid]` of RDS's log_line_prefix) and application names (`rds-probe:...`)."""
    terms = []
    for span in spans:
        terms += [f"@message like /\\[{pid}\\]/" for pid in span.backend_pids]
        if span.application_name:
            terms.append(f"@message like /{_regex_literal(span.application_name)}/")
    if not terms:  # an endpoint that reports neither: any probe's line
        terms.append("@message like /rds-probe:/")
    unique = list(dict.fromkeys(terms))
    # One line: the command stays one line to copy, and Logs Insights reads pipes inline.
    return (
        "fields @timestamp, @logStream, @message"
        f" | filter {' or '.join(unique)}"
        " | sort @timestamp asc"
        " | limit 1000"
    )


def logs_start_query_argv(aws: AwsSide, log_group: str, log_window: LogWindow) -> list[str]:
    return [
        "aws",
        "logs",
        "start-query",
        "--region",
        aws.value("aws_region"),
        "--log-group-name",
        log_group,
        "--start-time",
        str(int(log_window.window.start.timestamp())),
        "--end-time",
        str(math.ceil(log_window.window.end.timestamp())),
        "--query-string",
        logs_insights_query(log_window.spans),
    ]


# --- everything to collect next ------------------------------------------------------


@dataclass
class CollectNext:
    window: Window | None
    disconnects: list[ProbeSpan]
    metrics_argv: list[str] | None
    log_queries: list[tuple[str, LogWindow, list[str]]]  # (which log, window, argv)
    missing: list[str]

    def parts(self) -> list[tuple[str, str]]:
        """The section in order, as ("text", sentence) and ("command", shell line)."""
        out: list[tuple[str, str]] = []
        text = lambda line: out.append(("text", line))
        if self.window is None:
            text("No probe has started yet: nothing to collect.")
            return out
        text(f"Run window (UTC): {self.window.start_text} to {self.window.end_text}")
        if self.disconnects:
            for span in self.disconnects:
                why = f" ({span.reason})" if span.reason else ""
                pids = ", ".join(str(p) for p in span.backend_pids) or "unknown"
                text(
                    f"Disconnect of {span.test_name}: {iso(span.ended_at)}, backend pid {pids}{why}"
                )
        else:
            text("No probe connection died in this run.")
        if self.missing:
            text(
                "Fill in "
                + ", ".join(PLACEHOLDERS[m] for m in self.missing)
                + " (or set "
                + ", ".join(self.missing)
                + " in the profile)."
            )
        text(
            "RDS Proxy metrics over the run (save the output and add it to the run with "
            "`rds-tui report RUN --metrics FILE.json`):"
        )
        out.append(("command", shlex.join(self.metrics_argv or [])))
        for label, log_window, argv in self.log_queries:
            text(
                f"{label}, {iso(log_window.window.start)} to {iso(log_window.window.end)} "
                f"({', '.join(s.test_name for s in log_window.spans)}):"
            )
            out.append(("command", shlex.join(argv)))
        if self.log_queries:
            text("Each start-query prints a queryId: aws logs get-query-results --query-id ID")
        return out

    def lines(self) -> list[str]:
        """The section as plain text: sentences, then each command line indented."""
        return [line if kind == "text" else "  " + line for kind, line in self.parts()]


def collect_next(spans: Sequence[ProbeSpan], aws: AwsSide) -> CollectNext:
    window = run_window(spans)
    disconnects = sorted(
        (s for s in spans if s.died and s.ended_at is not None), key=lambda s: s.ended_at
    )
    log_queries = []
    for log_window in disconnect_windows(spans):
        log_queries.append(
            (
                "PostgreSQL log",
                log_window,
                logs_start_query_argv(aws, aws.postgresql_logs, log_window),
            )
        )
        log_queries.append(
            ("RDS Proxy log", log_window, logs_start_query_argv(aws, aws.proxy_logs, log_window))
        )
    return CollectNext(
        window=window,
        disconnects=disconnects,
        metrics_argv=get_metric_data_argv(aws, window) if window else None,
        log_queries=log_queries,
        missing=aws.missing,
    )


# --- reading back get-metric-data ----------------------------------------------------


@dataclass
class MetricSeries:
    metric: str
    status: str
    points: list[tuple[datetime, float]] = field(default_factory=list)  # ascending

    def value_at(self, minute: datetime) -> float | None:
        minute = _floor_minute(minute)
        for moment, value in self.points:
            if _floor_minute(moment) == minute:
                return value
        return None


def _parse_time(text: Any, where: str) -> datetime:
    if not isinstance(text, str):
        raise MetricsError(f"{where}: a timestamp must be a string, got {type(text).__name__}")
    moment = _moment(text)
    if moment is None:
        raise MetricsError(f"{where}: {text[:40]!r} is not an ISO 8601 timestamp")
    return moment


def parse_metric_data(document: Any) -> list[MetricSeries]:
    """The series of a `get-metric-data` JSON document (any order of points), for the six
    proxy metrics. MetricsError says what is wrong with anything else."""
    if not isinstance(document, dict) or "MetricDataResults" not in document:
        raise MetricsError(
            "not the output of `aws cloudwatch get-metric-data`: expected a JSON object with "
            "MetricDataResults (run the command of the run's Collect next section with "
            "--output json)"
        )
    results = document["MetricDataResults"]
    if not isinstance(results, list):
        raise MetricsError("MetricDataResults must be a list")
    by_label = {m: m for m in METRICS} | {metric_id(m): m for m in METRICS}
    series: list[MetricSeries] = []
    unknown: list[str] = []
    for index, item in enumerate(results):
        where = f"MetricDataResults[{index}]"
        if not isinstance(item, dict):
            raise MetricsError(f"{where} must be an object")
        name = by_label.get(str(item.get("Label"))) or by_label.get(str(item.get("Id")))
        if name is None:
            unknown.append(str(item.get("Label") or item.get("Id")))
            continue
        stamps, values = item.get("Timestamps"), item.get("Values")
        if not isinstance(stamps, list) or not isinstance(values, list):
            raise MetricsError(f"{where} ({name}): Timestamps and Values must be lists")
        if len(stamps) != len(values):
            raise MetricsError(
                f"{where} ({name}): {len(stamps)} Timestamps but {len(values)} Values"
            )
        points = []
        for stamp, value in zip(stamps, values, strict=True):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise MetricsError(f"{where} ({name}): value {value!r} is not a number")
            points.append((_parse_time(stamp, where), float(value)))
        points.sort(key=lambda point: point[0])
        series.append(MetricSeries(name, str(item.get("StatusCode") or "Complete"), points))
    if not series:
        found = ", ".join(unknown) or "none"
        raise MetricsError(
            f"no RDS Proxy metric in this document (found: {found}); expected " + ", ".join(METRICS)
        )
    return series


# --- relating metrics and probes ------------------------------------------------------


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _alive(span: ProbeSpan, minute: datetime) -> bool:
    if span.started_at is None:
        return False
    end = span.ended_at or minute + timedelta(minutes=1)
    return _floor_minute(span.started_at) <= minute < end


def relate(series: Sequence[MetricSeries], spans: Sequence[ProbeSpan]) -> list[str]:
    """Sentences relating the proxy's metrics to the probes."""
    by_name = {s.metric: s for s in series}
    out: list[str] = []
    partial = [s.metric for s in series if s.status != "Complete"]
    if partial:
        out.append(
            "Partial data for " + ", ".join(partial) + ": CloudWatch had not returned every "
            "point (StatusCode PartialData); read those figures as incomplete."
        )
    started = [s.started_at for s in spans if s.started_at is not None]
    first_start = min(started) if started else None

    pinned = by_name.get("DatabaseConnectionsCurrentlySessionPinned")
    pinned_spans = [s for s in spans if s.pinned]
    if pinned is not None and pinned.points and first_start is not None and pinned_spans:
        before = [v for t, v in pinned.points if t < _floor_minute(first_start)]
        baseline = _median(before) or 0.0
        peak_minute, peak = max(
            ((t, v) for t, v in pinned.points if t >= _floor_minute(first_start)),
            key=lambda point: point[1],
            default=(None, None),
        )
        if peak is not None:
            expected = max(
                sum(1 for s in pinned_spans if _alive(s, _floor_minute(t)))
                for t, _ in pinned.points
            )
            rise = peak - baseline
            if rise >= expected > 0:
                verdict = "it counted every pinned probe"
            elif rise > 0:
                verdict = "it counted some of them"
            else:
                verdict = "it did not count them: the proxy did not pin these probes"
            out.append(
                f"DatabaseConnectionsCurrentlySessionPinned rose from {baseline:g} before the "
                f"run to {peak:g} at {iso(peak_minute)} while up to {expected} probe(s) of a "
                f"pinning pattern were connected: {verdict}."
            )

    closed = by_name.get("ClientConnectionsClosed")
    deaths = sorted({_floor_minute(s.ended_at) for s in spans if s.died and s.ended_at is not None})
    if closed is not None and closed.points and deaths:
        # A disconnect at 09:40:02 is counted in the 09:40 bin (or the next one).
        death_bins = {m for d in deaths for m in (d, d + timedelta(minutes=1))}
        quiet = [v for t, v in closed.points if _floor_minute(t) not in death_bins]
        baseline = _median(quiet) or 0.0
        for minute in deaths:
            died_here = [
                s.test_name
                for s in spans
                if s.died and s.ended_at and _floor_minute(s.ended_at) == minute
            ]
            values = [
                v
                for m in (minute, minute + timedelta(minutes=1))
                if (v := closed.value_at(m)) is not None
            ]
            if not values:
                out.append(
                    f"ClientConnectionsClosed has no point at {iso(minute)} (outside the data)."
                )
                continue
            value = max(values)
            if value - baseline >= len(died_here):
                verdict = "rose by at least the probes that died: the proxy counted these closes"
            elif value > baseline:
                verdict = "rose, but by fewer than the probes that died"
            else:
                verdict = "did not rise: the proxy did not count these closes as its own"
            out.append(
                f"ClientConnectionsClosed at {iso(minute)} was {value:g} (typical {baseline:g}) when "
                f"{len(died_here)} probe(s) died ({', '.join(died_here)}): it {verdict}."
            )
    if not out:
        out.append("The metrics do not overlap the probes' time on the server: nothing to relate.")
    return out
