"""The diagnosis: what a run's results mean, as findings and a recommendation.

It reasons only from the data: each conclusion names the tests it rests on, and a
question the data cannot answer is reported as inconclusive. Results of the original
pulp-service endpoint are read too; the diagnosis then says what it had to estimate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from rds_tui.constants import MISSING_STATE
from rds_tui.outcome import CLOSED_BY_PROXY_OR_NETWORK
from rds_tui.report import fixes
from rds_tui.report.observations import (
    Observation,
    format_seconds,
    notify_latency,
    observe,
    same_time,
)

# The seven patterns by number (test_N_...).
IDLE = 1
HEARTBEAT = 2
IDLE_TRANSACTION = 3
TRANSACTION_WITH_WORK = 4
SESSION_VARIABLE = 5
LISTEN = 6
LISTEN_WITH_NOTIFY = 7
# Patterns that send nothing after their setup: their deaths measure the idle cutoff.
PURE_IDLE_PATTERNS = (IDLE, SESSION_VARIABLE, LISTEN)
IN_TRANSACTION_SQLSTATE = "25P03"

SEVERITIES = ("ok", "info", "warning", "critical", "inconclusive")


@dataclass
class Finding:
    title: str
    detail: str
    severity: str = "info"  # one of SEVERITIES


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)
    recommendation: str = ""
    estimated_idle_cutoff_seconds: float | None = None
    in_transaction_cutoff_seconds: float | None = None
    # What the fix patterns (tests 8, 9) showed, when the run has them.
    fix_verdicts: list[fixes.FixVerdict] = field(default_factory=list)
    # The Pulp settings of the fixes that held, lines to paste.
    pulp_settings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain text for a terminal."""
        out = ["DIAGNOSIS"]
        for finding in self.findings:
            out.append(f"  [{finding.severity}] {finding.title}")
            out.append(f"      {finding.detail}")
        out += ["", "RECOMMENDATION", f"  {self.recommendation}"]
        if self.pulp_settings:
            out += ["", "PULP SETTINGS"] + [f"  {line}" for line in self.pulp_settings]
        return out


def _by_number(observations: list[Observation]) -> dict[int, Observation]:
    """The observation with a usable result for each pattern number (first one wins)."""
    found: dict[int, Observation] = {}
    for observation in observations:
        if observation.number and observation.has_result and observation.number not in found:
            found[observation.number] = observation
    return found


def _sentence(text: str) -> str:
    """`text` as a sentence: capitalized, ending with a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _joined(observations: list[Observation], value) -> str:
    return ", ".join(f"{o.label}: {format_seconds(value(o))}" for o in observations)


class _Diagnoser:
    """Builds the findings one question at a time; keeps what the recommendation needs."""

    def __init__(self, observations: list[Observation], profile: str | None = None):
        self.observations = observations
        self.profile = profile
        self.tests = _by_number(observations)
        self.diagnosis = Diagnosis()
        self.notifications_count: bool | None = None
        self.notifications_dropped = False
        self.heartbeat_died = False
        self.longest_survival: float | None = None
        self.approximate = False

    def add(self, title: str, detail: str, severity: str) -> None:
        self.diagnosis.findings.append(Finding(title, detail, severity))

    def inconclusive(self, topic: str, detail: str) -> None:
        self.add(f"{topic}: inconclusive", detail, "inconclusive")

    def outcome(self, number: int) -> Observation | None:
        """Pattern `number`'s observation if it tells whether the connection died."""
        observation = self.tests.get(number)
        return observation if observation is not None and observation.died is not None else None

    def run(self) -> Diagnosis:
        self.task_problems()
        self.idle_cutoff()
        self.heartbeat()
        self.transaction()
        self.pinning()
        self.notifications()
        self.fixes()
        self.diagnosis.recommendation = self.recommendation()
        return self.diagnosis

    def task_problems(self) -> None:
        for observation in self.observations:
            if observation.outcome.stopped_early:
                self.add(
                    f"{observation.test_name} was stopped early",
                    f"{_sentence(observation.outcome.stopped_early)} Its result is partial: "
                    "the diagnosis reads only what it saw until then.",
                    "info",
                )
            elif observation.task_state in ("failed", "canceled", "skipped", MISSING_STATE):
                if observation.task_state == MISSING_STATE:
                    what = "The server no longer has its Pulp task (deleted or purged)"
                else:
                    reason = f": {observation.task_error}" if observation.task_error else ""
                    what = f"The Pulp task was {observation.task_state}{reason}"
                self.add(
                    f"{observation.test_name} produced no result",
                    f"{what}. Its pattern is left out of the diagnosis; run it again.",
                    "warning",
                )
            elif observation.task_state in ("waiting", "running", "canceling"):
                self.add(
                    f"{observation.test_name} is still {observation.task_state}",
                    "The diagnosis covers only finished tests; report again when it ends.",
                    "info",
                )

    def idle_cutoff(self) -> None:
        idle = [self.tests[n] for n in PURE_IDLE_PATTERNS if n in self.tests]
        deaths = [o for o in idle if o.died and o.idle_seconds is not None]
        deaths = [o for o in deaths if o.result.sqlstate != IN_TRANSACTION_SQLSTATE]
        if not deaths and LISTEN_WITH_NOTIFY in self.tests:
            listen7 = self.tests[LISTEN_WITH_NOTIFY]
            if listen7.died and listen7.idle_seconds is not None:
                deaths = [listen7]  # the only idle-client death we have
        survivors = [o for o in idle if o.died is False and o.survived_seconds is not None]
        self.longest_survival = max((o.survived_seconds for o in survivors), default=None)
        if deaths:
            timed = [o for o in deaths if o.precise]
            self.approximate = not timed
            # Deaths timed as they happened give the cutoff; without any, each value only
            # bounds the death from above, and the tightest bound is the smallest.
            deaths = timed or deaths
            values = [o.idle_seconds for o in deaths]
            cutoff = min(values) if self.approximate else statistics.median(values)
            self.diagnosis.estimated_idle_cutoff_seconds = cutoff
            spread = f", spread {max(values) - min(values):.2f} s" if len(values) > 1 else ""
            how = (
                " These results only show the connection was dead when it was next used "
                "(the original endpoint's results, or a final check), so this is an upper "
                "bound, not the cutoff itself."
                if self.approximate
                else ""
            )
            expected = self._expected_cutoff()
            compare = ""
            if expected:
                if same_time(cutoff, expected):
                    compare = f" This matches the expected cutoff of {format_seconds(expected)}."
                elif _proxy_cut(deaths) and same_time(cutoff - PROXY_CHECK_SECONDS, expected):
                    compare = (
                        f" This matches the expected cutoff of {format_seconds(expected)} "
                        "plus one check of the proxy's idle timer."
                    )
                else:
                    compare = f" The server expected {format_seconds(expected)}."
            messages = {o.result.server_message for o in deaths if o.result.server_message}
            said = f" Server message: {'; '.join(sorted(messages))}." if messages else ""
            said = _who_cut(deaths) + said
            bound = "within " if self.approximate else "after ~"
            measured = (
                "Found dead when the test ended"
                if self.approximate
                else "Silence before the disconnect"
            )
            self.add(
                f"Idle connections are cut {bound}{format_seconds(cutoff)} of client silence",
                f"{measured} ({_joined(deaths, lambda o: o.idle_seconds)}"
                f"{spread}).{compare}{how}{said}",
                "critical",
            )
            if survivors:
                self.add(
                    "Some idle patterns survived while others died",
                    f"Survived: {', '.join(o.label for o in survivors)}. A proxy that pins "
                    "these connections may treat them differently; compare the patterns.",
                    "warning",
                )
        elif survivors:
            self.add(
                "No idle cutoff within the test duration",
                f"Idle connections survived ({_joined(survivors, lambda o: o.survived_seconds)})."
                " If there is an idle cutoff, it is longer than that: run longer.",
                "ok",
            )
        else:
            self.inconclusive(
                "Idle cutoff",
                "No result of an idle pattern (tests 1, 5, 6). Run test_1_idle_connection "
                "and test_6_listen_notify to measure it.",
            )

    def _expected_cutoff(self) -> float | None:
        for observation in self.tests.values():
            if observation.result.expected_cutoff_seconds:
                return observation.result.expected_cutoff_seconds
        return None

    def heartbeat(self) -> None:
        observation = self.outcome(HEARTBEAT)
        if observation is None:
            self.inconclusive(
                "Heartbeats",
                "No result of test_2_active_heartbeat: run it to learn whether periodic "
                "queries keep a connection alive.",
            )
            return
        result = observation.result
        count = f" ({result.heartbeats_ok} heartbeats)" if result.heartbeats_ok is not None else ""
        if observation.died is False:
            held = observation.survived_seconds
            held_text = f" for {format_seconds(held)}" if held else ""
            self.add(
                "Periodic queries keep a connection alive",
                f"test 2 stayed connected{held_text}{count}.",
                "ok",
            )
        else:
            self.heartbeat_died = True
            self.add(
                "Even a connection sending heartbeats was cut",
                f"test 2 died after {format_seconds(observation.seconds_to_disconnect)}{count}"
                f"{_how_it_ended(observation)}. The limit is not (only) about idleness: look for a "
                "maximum connection lifetime or a failover at that time.",
                "critical",
            )

    def transaction(self) -> None:
        observation = self.outcome(IDLE_TRANSACTION)
        if observation is None:
            self.inconclusive("In-transaction timeout", "No result of test_3_long_transaction.")
            return
        settings = observation.result.server_settings or {}
        configured = settings.get("idle_in_transaction_session_timeout")
        setting = (
            f" The server's idle_in_transaction_session_timeout is {configured}."
            if configured not in (None, "", "0")
            else ""
        )
        if observation.died:
            seconds = observation.idle_seconds
            self.diagnosis.in_transaction_cutoff_seconds = seconds
            cutoff = self.diagnosis.estimated_idle_cutoff_seconds
            if cutoff is not None and seconds is not None and seconds < cutoff * 0.9:
                relation = "shorter than the idle cutoff: a separate in-transaction timeout"
            elif cutoff is not None and seconds is not None and same_time(seconds, cutoff):
                relation = "the same as the idle cutoff"
            else:
                relation = "an in-transaction limit"
            self.add(
                f"An idle open transaction is cut "
                f"{'after ~' if observation.precise else 'within '}{format_seconds(seconds)}",
                f"test 3 died after {format_seconds(seconds)} idle inside its transaction, "
                f"{relation}{_how_it_ended(observation)}.{setting}",
                "warning",
            )
        else:
            held = observation.survived_seconds
            self.add(
                "No in-transaction timeout within the test duration",
                f"test 3 kept its transaction open{' for ' + format_seconds(held) if held else ''}"
                f".{setting}",
                "ok",
            )
        self.transaction_with_work()

    def transaction_with_work(self) -> None:
        work = self.outcome(TRANSACTION_WITH_WORK)
        if work is None:
            return
        if not work.died:
            self.add(
                "A transaction that keeps working survives",
                "test 4 stayed connected: only idle time inside a transaction counts.",
                "ok",
            )
            return
        idle = work.idle_seconds
        in_transaction = self.diagnosis.in_transaction_cutoff_seconds
        paused_too_long = work.result.sqlstate == IN_TRANSACTION_SQLSTATE or (
            idle is not None and in_transaction is not None and same_time(idle, in_transaction)
        )
        if paused_too_long:
            self.add(
                "A working transaction was cut in a pause between its queries",
                f"test 4 died {format_seconds(idle)} after its last query inside the "
                f"transaction{_how_it_ended(work)}: the pauses between its queries "
                "reached the in-transaction timeout. Work more often than the timeout to "
                "keep such a transaction alive.",
                "warning",
            )
        else:
            self.add(
                "A transaction doing work was cut too",
                f"test 4 died after {format_seconds(work.seconds_to_disconnect)}, only "
                f"{format_seconds(idle)} after its last query{_how_it_ended(work)}: "
                "a limit on transaction or connection age, not on idleness.",
                "warning",
            )

    def pinning(self) -> None:
        """From what the probes saw: one backend pid over several queries, or several.

        (`connection_pinned` of the plugin is what RDS Proxy is documented to do for the
        pattern, not an observation; it is used only for results of the original
        endpoint, which have nothing better.)"""
        stable, multiplexed, reported = [], [], []
        for observation in self.tests.values():
            result = observation.result
            pids = {str(pid) for pid in result.backend_pids_seen or []}
            if result.pinning_observed is False or len(pids) > 1:
                multiplexed.append(f"{observation.label} ({len(pids)} backends)")
            elif result.pinning_observed is True:
                stable.append(observation.label)
            elif "pinning_observed" not in result.model_fields_set and result.connection_pinned:
                reported.append(observation.label)
        parts = []
        if stable:
            parts.append(
                f"kept one backend across its queries (pinned, or session pooling): "
                f"{', '.join(stable)}"
            )
        if multiplexed:
            parts.append(
                f"moved between backends (the proxy multiplexes them): {', '.join(multiplexed)}"
            )
        if reported:
            parts.append(f"reported as pinned by the server: {', '.join(reported)}")
        if not parts:
            self.inconclusive(
                "Pinning", "No probe queried often enough to tell (test 2 and test 4 do)."
            )
            return
        self.add("Pinning observed", "; ".join(parts) + ".", "info")

    def notifications(self) -> None:
        listen = self.outcome(LISTEN)
        active = self.outcome(LISTEN_WITH_NOTIFY)
        if active is None:
            self.inconclusive(
                "Notifications as activity",
                "No result of test_7_listen_with_activity: run it together with "
                "test_6_listen_notify.",
            )
            return
        result = active.result
        sent, received = result.notifications_sent, result.notifications_received
        if sent is not None and received is not None and sent > 0:
            expected = _deliveries_expected(active)
            if received < expected:
                self.notifications_dropped = True
                self.add(
                    "Notifications are dropped",
                    f"test 7: {sent} sent, only {received} received ({expected} of them sent "
                    "well before the connection died). Something between client "
                    "and database loses notifications (as PgBouncer's transaction mode "
                    "does): LISTEN-based wake-ups of Pulp workers would be missed.",
                    "critical",
                )
            elif received > 0:
                median, maximum = notify_latency(result.notify_latency_ms)
                latency = f" (latency median {median:g} ms, max {maximum:g} ms)" if median else ""
                self.add(
                    "Notifications are delivered",
                    f"test 7 received {received} of {sent}{latency}.",
                    "ok",
                )
            else:
                self.inconclusive(
                    "Notification delivery",
                    f"test 7 sent {sent} but the connection died before any could be "
                    "expected to arrive. Run it with a notify interval well below the cutoff.",
                )
        if not received:
            self.inconclusive(
                "Notifications as activity",
                "test 7 received no notifications, so it cannot show whether they count.",
            )
            return
        if listen is None:
            detail = "No result of test_6_listen_notify to compare with."
            if active.died:
                cutoff = self.diagnosis.estimated_idle_cutoff_seconds
                if (
                    cutoff is not None
                    and active.idle_seconds is not None
                    and same_time(active.idle_seconds, cutoff)
                ):
                    self.notifications_count = False
                    self.add(
                        "Notifications do not count as activity",
                        f"test 7 died after {format_seconds(active.idle_seconds)} of client "
                        "silence, like the idle patterns, despite receiving notifications.",
                        "critical",
                    )
                    return
            self.inconclusive("Notifications as activity", detail)
            return
        if listen.died and active.died:
            a, b = listen.idle_seconds, active.idle_seconds
            if a is not None and b is not None and same_time(a, b):
                self.notifications_count = False
                self.add(
                    "Notifications do not count as activity",
                    f"test 7 died after {format_seconds(b)} of client silence although it "
                    f"received {_count(received, 'notification')}; "
                    f"test 6 (no notifications) died after {format_seconds(a)}. Only what the "
                    "client sends resets the idle timer.",
                    "critical",
                )
            else:
                self.add(
                    "Notifications as activity: unclear",
                    f"test 6 died after {format_seconds(a)} and test 7 after "
                    f"{format_seconds(b)}: different times, but both died.",
                    "inconclusive",
                )
        elif listen.died and not active.died:
            self.notifications_count = True
            self.add(
                "Notifications count as activity",
                f"test 7 (receiving notifications) survived while test 6 died after "
                f"{format_seconds(listen.idle_seconds)}: incoming notifications keep a "
                "LISTEN connection alive.",
                "ok",
            )
        elif not listen.died and not active.died:
            self.inconclusive(
                "Notifications as activity",
                "Neither LISTEN connection (tests 6 and 7) died, so there was no cutoff "
                "for notifications to prevent.",
            )
        else:
            self.add(
                "LISTEN with notifications died, plain LISTEN survived",
                f"test 7 died after {format_seconds(active.seconds_to_disconnect)}"
                f"{_how_it_ended(active)}; test 6 survived. Unexpected: check the "
                "server message.",
                "warning",
            )

    def fixes(self) -> None:
        """Tests 8 and 9 against the control (test 6): rds_tui.report.fixes decides."""
        verdicts = fixes.judge_observations(self.observations)
        self.diagnosis.fix_verdicts = verdicts
        severity = {fixes.HOLDS: "ok", fixes.DOES_NOT_HOLD: "warning"}
        for verdict in verdicts:
            fix = "client heartbeat" if verdict.kind == fixes.HEARTBEAT else "TCP keepalives"
            self.add(
                f"Fix ({fix}): {verdict.verdict}",
                verdict.headline(),
                severity.get(verdict.verdict, "inconclusive"),
            )
            self.diagnosis.pulp_settings += verdict.settings_snippet()

    def fix_sentences(self, heartbeat: int | None) -> list[str]:
        """What the fix runs showed, in a sentence each, or the runs that would settle it."""
        verdicts = {v.kind: v for v in self.diagnosis.fix_verdicts}
        parts = []
        for kind, verdict in verdicts.items():
            if verdict.verdict == fixes.HOLDS:
                parts.append(
                    f"{verdict.what} kept it alive for {format_seconds(verdict.fix_held_seconds)}"
                    f" (the control died after {format_seconds(verdict.control_died_after_seconds)}"
                    "): apply it (PULP SETTINGS below)."
                )
            elif verdict.verdict == fixes.DOES_NOT_HOLD:
                effect = (
                    "did not count as activity" if kind == fixes.KEEPALIVE else "was not enough"
                )
                parts.append(f"{verdict.what} {effect}: {verdict.reason}")
            else:
                again = fixes.verify_command(
                    kind, verdict.interval_seconds or heartbeat or 1, self.profile
                )
                parts.append(f"The {kind} check was inconclusive ({verdict.reason}) Run: {again}.")
        missing = [kind for kind in fixes.FIXES if kind not in verdicts]
        if missing and heartbeat is not None:
            lines = " and ".join(
                fixes.verify_command(kind, heartbeat, self.profile) for kind in missing
            )
            untested = " or ".join(
                "a client heartbeat" if k == fixes.HEARTBEAT else "TCP keepalives" for k in missing
            )
            parts.append(
                f"Whether {untested} would keep it alive is not measured yet; run: {lines}."
            )
        return parts

    def recommendation(self) -> str:
        cutoff = self.diagnosis.estimated_idle_cutoff_seconds
        listen = self.tests.get(LISTEN)
        parts: list[str] = []
        if cutoff is not None:
            approx = "at most " if self.approximate else "~"
            who = (
                "LISTEN connections (how Pulp workers wait for work)"
                if listen is not None and listen.died
                else "Idle connections"
            )
            heartbeat = max(1, int(cutoff // 2))
            parts.append(
                f"{who} die after {approx}{format_seconds(cutoff)} of client silence. "
                f"Fix one of: send a client-side heartbeat (e.g. SELECT 1) at least every "
                f"{heartbeat} s, well below {format_seconds(cutoff)}; raise the proxy's "
                f"IdleClientTimeout above the longest time a worker waits; or connect the "
                f"workers to the database directly, bypassing the proxy."
            )
            if self.notifications_count is False:
                parts.append(
                    "Notifications do not reset the timer, so the heartbeat must be sent by "
                    "the client."
                )
            elif self.notifications_count is True:
                parts.append("Incoming notifications do reset the timer.")
            parts += self.fix_sentences(heartbeat)
        elif self.longest_survival is not None:
            parts.append(
                f"No idle connection was cut within {format_seconds(self.longest_survival)}. "
                "If workers stay silent longer than that in production, run the tests with "
                "a longer duration."
            )
        if cutoff is None:
            parts += self.fix_sentences(None)
        if self.notifications_dropped:
            parts.append(
                "Notifications are being lost: do not run workers' LISTEN connections "
                "through this proxy (bypass it for workers)."
            )
        if self.heartbeat_died:
            parts.append(
                "Even active connections were cut, so a heartbeat alone will not help: "
                "check the proxy's connection lifetime limits and the server messages."
            )
        transaction = self.diagnosis.in_transaction_cutoff_seconds
        if transaction is not None:
            parts.append(
                f"Keep transactions from idling longer than {format_seconds(transaction)}."
            )
        if not parts:
            return (
                "Inconclusive: the results do not show an idle cutoff. Run at least "
                "test_1_idle_connection, test_2_active_heartbeat and test_6_listen_notify "
                "to completion."
            )
        return " ".join(parts)


# A notification sent this long before the disconnect should have arrived (the
# latencies measured are milliseconds).
DELIVERY_GRACE_SECONDS = 0.5


def _deliveries_expected(observation: Observation) -> int:
    """How many of test 7's notifications must have arrived if none were dropped:
    all of them while the connection lives; if it died, those sent well before."""
    result = observation.result
    sent = result.notifications_sent or 0
    if not observation.died:
        return sent
    interval = getattr(result, "notify_interval_seconds", None)
    death = result.seconds_to_disconnect
    if isinstance(interval, int | float) and interval > 0 and death is not None:
        return min(sent, max(0, int((death - DELIVERY_GRACE_SECONDS) // interval)))
    return max(0, sent - 1)  # without timing, allow one in flight at the disconnect


def _count(number: int | None, noun: str) -> str:
    if number is None:
        return f"some {noun}s"
    return f"{number} {noun}{'' if number == 1 else 's'}"


# How precisely each kind of cut is timed: a proxy checks its timers periodically, so
# its cut lands up to one check after the limit (measured: proxy-behaviour notes).
PROXY_TIMER_TEXT = (
    "a proxy checks its idle timer periodically, so the cut lands up to one check after "
    "the limit (pgpool-II checks about once a second: between the limit and the limit "
    "+ 1 s; PgBouncer every 1/3 s)"
)
SERVER_TIMER_TEXT = "PostgreSQL's own timers are exact to milliseconds"
PGBOUNCER_TIMER_TEXT = "PgBouncer checks its timeouts on a 1/3-second timer"


# The coarsest proxy timer measured: pgpool-II looks about once a second.
PROXY_CHECK_SECONDS = 1.0


def _proxy_cut(deaths: list[Observation]) -> bool:
    return all(o.outcome.closed_by == CLOSED_BY_PROXY_OR_NETWORK for o in deaths)


def _who_cut(deaths: list[Observation]) -> str:
    """Who ended the idle connections (rds_tui.outcome decides), and how precisely that
    kind of cut is timed; empty when the results do not say."""
    causes = {o.outcome.closed_by_text() for o in deaths}
    if None in causes:
        return ""
    if len(causes) > 1:
        parts = "; ".join(
            f"{', '.join(o.label for o in deaths if o.outcome.closed_by_text() == c)}: {c}"
            for c in sorted(causes)
        )
        return f" Not all were cut the same way ({parts})."
    (cause,) = causes
    if _proxy_cut(deaths):
        timer = PROXY_TIMER_TEXT
    elif (deaths[0].outcome.sqlstate or "").startswith("08"):
        timer = PGBOUNCER_TIMER_TEXT + " (PgBouncer ends its clients with 08P01)"
    else:
        timer = SERVER_TIMER_TEXT
    each = "Every cut" if len(deaths) > 1 else "The cut"
    return f" {each}: {cause}; {timer}."


def _how_it_ended(observation: Observation) -> str:
    """Who ended the connection, with the server's words (rds_tui.outcome decides)."""
    if observation.outcome.closed_by_text():
        return f" ({observation.outcome.cause_text()})"
    result = observation.result
    if not (result.server_message or result.sqlstate):
        return ""
    code = f"{result.sqlstate}: " if result.sqlstate else ""
    return f' (server: "{code}{result.server_message or ""}")'


def diagnose(results: list[dict[str, Any]], profile: str | None = None) -> Diagnosis:
    """What the results say: findings and a recommendation (see module docstring).
    `profile`: the run's profile, named in the `rds-tui verify` lines it suggests."""
    return _Diagnoser([observe(item) for item in results], profile).run()
