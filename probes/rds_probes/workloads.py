"""What tests 3 and 4 do inside their transactions, per kind of database.

`pulp` (the plugin's default) works on Pulp's own tables, as the original tests did;
`generic` needs no table at all, so the client can probe any PostgreSQL database. Either
way test 3 holds a real lock in its open transaction and test 4's round of work is one
statement (one round trip, like a heartbeat). Each statement is fixed text; the only
request-derived value, the task id, is a bound parameter.
"""

from dataclasses import dataclass

from .target import ProbeConfigError


@dataclass(frozen=True)
class Workload:
    name: str
    # Test 3: run right after BEGIN with the task id bound; holds a lock until the end.
    lock_statement: str
    # What test 3's result says it locked.
    locked: str
    # Test 4: one round of work (one statement), and how the timeline labels it.
    work_statement: str
    work_label: str
    # For error messages: what the workload needs.
    needs: str


PULP = Workload(
    name="pulp",
    # FOR KEY SHARE on the task's own row: a real row lock held by the open transaction,
    # which still lets pulpcore update the row (cancel, state) and insert progress
    # reports referencing it. FOR UPDATE would block both until the probe ends.
    lock_statement="SELECT pulp_id FROM core_task WHERE pulp_id = %s FOR KEY SHARE",
    locked="the task's own row in core_task (FOR KEY SHARE)",
    # The original's work (count waiting tasks, the first task, count online workers) as
    # one statement.
    work_statement=(
        "SELECT (SELECT count(*) FROM core_task WHERE state = 'waiting'),"
        " (SELECT pulp_id FROM core_task ORDER BY pulp_created LIMIT 1),"
        " (SELECT count(*) FROM core_appstatus WHERE app_type = 'worker'"
        " AND last_heartbeat >= clock_timestamp() - ttl)"
    ),
    work_label="work: waiting tasks, first task, online workers",
    needs="Pulp's tables core_task and core_appstatus",
)

GENERIC = Workload(
    name="generic",
    # A transaction-level advisory lock keyed by the task id, and a real transaction id:
    # the open transaction holds both until COMMIT or the server's cut, on no table.
    lock_statement="SELECT pg_advisory_xact_lock(hashtext(%s)), txid_current()",
    locked="a transaction-level advisory lock (key hashtext(task id)) and a transaction id",
    # Catalogs and statistics views only: readable by any role in any database.
    work_statement=(
        "SELECT (SELECT count(*) FROM pg_class),"
        " (SELECT count(*) FROM pg_locks WHERE NOT granted),"
        " (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())"
    ),
    work_label="work: relations, waiting locks, sessions on this database",
    needs="nothing but a PostgreSQL database",
)

WORKLOADS = {workload.name: workload for workload in (PULP, GENERIC)}


def get_workload(name: str) -> Workload:
    """The workload called `name`; ProbeConfigError naming the choices otherwise."""
    try:
        return WORKLOADS[name]
    except (KeyError, TypeError):
        choices = "; ".join(f"{w.name!r} ({w.needs})" for w in WORKLOADS.values())
        raise ProbeConfigError(f"Unknown probe workload {name!r}: use one of {choices}.") from None
