"""The reference floor of the heavy pages: the rows each page needs, fetched by one raw
SQL query and nothing else (no ORM, no Python layout, no template, no HTTP).

A page's time divided by its floor says how much the page adds on top of reading its
data; unlike milliseconds, that ratio can be compared across machines.

- Roadmap: the portfolio's epics with their work (capabilities and features counted per
  epic, value stream, PI and commitment), for the PIs shown: the current PI and the
  next three by default, or all of them.
- Dependency map: every dependency of the portfolio with its consumer and provider
  trains and their value streams, its state and flag, the end dates of the iteration
  it is needed by and of the one it is committed to, and its delivery date.
"""

import statistics
import time

from django.db import connection


def _tables() -> dict[str, str]:
    from cadence.models import Iteration, ProgramIncrement
    from portfolio.models import Epic
    from valuestreams.models import Capability, Dependency, Feature, Train

    return {
        "epic": Epic._meta.db_table,
        "capability": Capability._meta.db_table,
        "feature": Feature._meta.db_table,
        "train": Train._meta.db_table,
        "pi": ProgramIncrement._meta.db_table,
        "dependency": Dependency._meta.db_table,
        "iteration": Iteration._meta.db_table,
    }


ROADMAP_SQL = """
SELECT e.id, e.key, e.title, e.state, e.wsjf, e.target_pi_id,
       w.value_stream_id, w.pi_id, w.commitment, w.n
FROM {epic} e
LEFT JOIN (
    SELECT c.epic_id, t.value_stream_id, c.program_increment_id AS pi_id, c.commitment, COUNT(*) AS n
    FROM {capability} c JOIN {train} t ON t.id = c.train_id JOIN {pi} p ON p.id = c.program_increment_id
    WHERE c.epic_id IS NOT NULL AND p.start_date BETWEEN %s AND %s
    GROUP BY c.epic_id, t.value_stream_id, c.program_increment_id, c.commitment
    UNION ALL
    SELECT f.epic_id, t.value_stream_id, f.program_increment_id, f.commitment, COUNT(*)
    FROM {feature} f JOIN {train} t ON t.id = f.train_id JOIN {pi} p ON p.id = f.program_increment_id
    WHERE f.epic_id IS NOT NULL AND p.start_date BETWEEN %s AND %s
    GROUP BY f.epic_id, t.value_stream_id, f.program_increment_id, f.commitment
) w ON w.epic_id = e.id
WHERE e.portfolio_id = %s
"""

DEPENDENCY_MAP_SQL = """
SELECT d.id, d.key, d.state, d.flag, d.consumer_id, d.provider_id,
       consumer.value_stream_id, provider.value_stream_id,
       needed.end_date, committed.end_date, d.delivered_on
FROM {dependency} d
JOIN {train} consumer ON consumer.id = d.consumer_id
JOIN {train} provider ON provider.id = d.provider_id
LEFT JOIN {iteration} needed ON needed.id = d.needed_by_iteration_id
LEFT JOIN {iteration} committed ON committed.id = d.committed_iteration_id
WHERE d.portfolio_id = %s
"""


def _time(sql: str, params: list, repeat: int) -> tuple[float, int]:
    """Median milliseconds of the query executed and fetched ``repeat`` times (after one
    run to warm the caches), and how many rows it returns."""
    timings, rows = [], 0
    with connection.cursor() as cursor:
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
            if attempt:
                timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), rows


def roadmap_floor(portfolio_id: int, first_start, last_start, *, repeat: int) -> tuple[float, int]:
    """The roadmap's rows for the PIs starting from ``first_start`` to ``last_start``."""
    sql = ROADMAP_SQL.format(**_tables())
    return _time(sql, [first_start, last_start, first_start, last_start, portfolio_id], repeat)


def dependency_map_floor(portfolio_id: int, *, repeat: int) -> tuple[float, int]:
    return _time(DEPENDENCY_MAP_SQL.format(**_tables()), [portfolio_id], repeat)
