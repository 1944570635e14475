"""The report for the ticket as a small document (title, facts, sections with
paragraphs, bullets, a table, preformatted blocks), built once and written by each
markup's writer (`markdown`, `jira`). Strings here are plain text: the writers escape
everything, so server and database text can never become markup there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rds_tui.report.collect import AwsSide, MetricSeries, collect_next, relate, spans_of
from rds_tui.report.diagnosis import diagnose
from rds_tui.report.observations import Observation, format_seconds, observe
from rds_tui.report.summary import summary_lines

if TYPE_CHECKING:
    from rds_tui.runs import Run


@dataclass
class Table:
    header: list[str]
    rows: list[list[str | None]] = field(default_factory=list)


@dataclass
class Bullet:
    text: str
    lead: str | None = None  # shown in bold before the text


@dataclass
class Bullets:
    items: list[Bullet] = field(default_factory=list)


@dataclass
class Paragraph:
    text: str


@dataclass
class Block:
    """Preformatted lines (a command, the TEST SUMMARY)."""

    lines: list[str]


Item = Paragraph | Bullets | Table | Block


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)


@dataclass
class Document:
    title: str
    facts: Bullets = field(default_factory=Bullets)
    sections: list[Section] = field(default_factory=list)


class Writer:
    """A markup: how it writes each item. `write` lays out the document the same way for
    every markup."""

    def heading(self, level: int, text: str) -> str:
        raise NotImplementedError

    def paragraph(self, paragraph: Paragraph) -> list[str]:
        raise NotImplementedError

    def bullets(self, bullets: Bullets) -> list[str]:
        raise NotImplementedError

    def table(self, table: Table) -> list[str]:
        raise NotImplementedError

    def block(self, block: Block) -> list[str]:
        raise NotImplementedError

    def item(self, item: Item) -> list[str]:
        if isinstance(item, Paragraph):
            return self.paragraph(item)
        if isinstance(item, Bullets):
            return self.bullets(item)
        if isinstance(item, Table):
            return self.table(item)
        return self.block(item)

    def write(self, document: Document) -> str:
        lines = [self.heading(1, document.title), ""]
        if document.facts.items:
            lines += [*self.bullets(document.facts), ""]
        for section in document.sections:
            lines += [self.heading(2, section.title), ""]
            for item in section.items:
                lines += [*self.item(item), ""]
        return "\n".join(lines)


def task_rows(run: Run | None, tasks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every test of the run, finished or not, in dispatch order."""
    if tasks is None:
        tasks = run.task_results() if run is not None else []
    if run is None:
        return list(tasks)
    by_href = {task.get("pulp_href"): task for task in tasks}
    by_name = {task.get("test_name"): task for task in tasks}
    rows = []
    for run_task in run.tasks:
        task = by_href.get(run_task.task_href) or next(
            (t for href, t in by_href.items() if href and f"/{run_task.task_id}/" in href), None
        )
        task = task or by_name.get(run_task.test_name)
        if task is None:
            task = {"pulp_href": run_task.task_href, "state": "unknown"}
        rows.append({**task, "test_name": run_task.test_name})
    return rows


def _died_after(observation: Observation) -> str:
    """When it died; '≤' marks an upper bound (found dead later, not seen dying)."""
    text = format_seconds(observation.seconds_to_disconnect)
    return text if observation.precise else f"≤ {text}"


def _result_row(task: dict[str, Any]) -> list[str | None]:
    observation = observe(task)
    result = observation.result
    died = observation.died
    connection = "DIED" if died else "alive" if died is False else "?"
    message = None
    if result is not None and (result.server_message or result.sqlstate):
        message = f"{result.sqlstate or ''} {result.server_message or ''}".strip()
    return [
        observation.test_name,
        observation.task_state,
        connection,
        _died_after(observation) if died else None,
        format_seconds(result.idle_seconds_before_disconnect)
        if died and result is not None and result.idle_seconds_before_disconnect is not None
        else None,
        result.detected_by if result is not None else None,
        message or observation.task_error,
    ]


def _run_facts(run: Run) -> Bullets:
    profile = f" (profile {run.profile})" if run.profile else ""
    facts = [
        Bullet(f"Server: {run.api_root}{profile}"),
        Bullet(f"Dispatched: {run.created_at:%Y-%m-%d %H:%M:%S %Z}"),
    ]
    if run.options:
        options = ", ".join(f"{key}={value}" for key, value in run.options.items())
        facts.append(Bullet(f"Options: {options}"))
    if run.correlation_id:
        facts.append(Bullet(f"Correlation ID (the tasks' logging_cid): {run.correlation_id}"))
    return Bullets(facts)


def collect_section(
    rows: list[dict[str, Any]], aws: AwsSide | None, metrics: list[MetricSeries] | None
) -> Section:
    """The guide's remaining data collection, ready to run; what merged metrics show."""
    spans = spans_of(rows)
    section = Section("Collect next")
    for kind, line in collect_next(spans, aws or AwsSide()).parts():
        section.items.append(Block([line]) if kind == "command" else Paragraph(line))
    if metrics:
        section.items.append(
            Bullets([Bullet(sentence, "Metrics:") for sentence in relate(metrics, spans)])
        )
    return section


def build(
    run: Run | None,
    tasks: list[dict[str, Any]] | None = None,
    *,
    aws: AwsSide | None = None,
    metrics: list[MetricSeries] | None = None,
) -> Document:
    """The ticket's report: context, per-test table, diagnosis, summary, what to collect."""
    rows = task_rows(run, tasks)
    diagnosis = diagnose(rows)
    if run is not None:
        document = Document(f"RDS connection tests: run {run.id}", _run_facts(run))
    else:
        document = Document("RDS connection tests")
    table = Table(
        [
            "Test",
            "Task",
            "Connection",
            "Died after",
            "Idle before death",
            "Detected by",
            "Server message",
        ],
        [_result_row(task) for task in rows],
    )
    document.sections.append(Section("Results", [table]))
    findings = [
        Bullet(f"({finding.severity}): {finding.detail}", finding.title)
        for finding in diagnosis.findings
    ]
    recommendation = Bullets([Bullet(diagnosis.recommendation, "Recommendation:")])
    document.sections.append(Section("Diagnosis", [Bullets(findings), recommendation]))
    document.sections.append(Section("Test summary", [Block(summary_lines(rows))]))
    document.sections.append(collect_section(rows, aws, metrics))
    return document
