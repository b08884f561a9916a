"""The WSGI application that ``make bench`` serves: the project's own, plus three headers.

Every response says what its request cost in the worker: ``X-Bench-Queries`` (SQL
queries run, session and user included), ``X-Bench-SQL-Ms`` (wall time inside those
queries, rows fetched included) and ``X-Bench-CPU-Ms`` (the worker's CPU time). The
benchmark reads them from the very requests it times. The CPU time barely moves when
other work competes for the machine, where the wall time does, so it tells a slow
page from a busy machine.

This module is only ever served by the benchmark; production serves
``portfolio.wsgi``, which knows nothing of it. The cost is one function call and two
clock reads per query: microseconds, far below what the benchmark resolves.
"""

import time
from contextlib import ExitStack

from bench.client import CPU_HEADER, QUERY_COUNT_HEADER, SQL_TIME_HEADER
from portfolio.wsgi import application as django_application


def application(environ, start_response):
    from django.db import connections

    queries, sql_seconds = 0, 0.0
    cpu_started = time.process_time()

    def timed(execute, sql, params, many, context):
        nonlocal queries, sql_seconds
        queries += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds += time.perf_counter() - started

    def start_response_with_costs(status, headers, exc_info=None):
        # Django calls this once the view and every middleware have run: the figures are final.
        costs = [
            (QUERY_COUNT_HEADER, str(queries)),
            (SQL_TIME_HEADER, f"{sql_seconds * 1000:.2f}"),
            (CPU_HEADER, f"{(time.process_time() - cpu_started) * 1000:.2f}"),
        ]
        return start_response(status, [*headers, *costs], exc_info)

    with ExitStack() as wrappers:
        for alias in connections:
            wrappers.enter_context(connections[alias].execute_wrapper(timed))
        return django_application(environ, start_response_with_costs)
