"""Tributary's performance benchmark: ``make bench`` (``python -m bench.run``).

It checks the performance budget of DESIGN.md on the large demo portfolio and writes
the figures to BENCHMARK.md. It is never part of ``make test``; CI runs it on the small
demo (``make bench-smoke``) with the budgets reported, not enforced, so that it cannot rot.

How to run it
-------------

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tributary_bench make bench
    make bench                                  # SQLite: bench/bench.sqlite3
    make bench BENCH_ARGS="--only roadmap"      # some requests only (a quick look)
    make bench BENCH_ARGS="--skip-seed"         # the demo already loaded, measured again
    make bench-smoke                            # small demo, writes bench/smoke.md

The database is ``$DATABASE_URL`` when set (the budget figures are for PostgreSQL),
otherwise a SQLite file of its own. The benchmark drops and recreates the databases it
owns before seeding (its SQLite file, and PostgreSQL databases whose name starts with
``tributary_bench``), so the seed is timed on an empty database; any other database is
seeded in place, replacing its demo portfolio (slug ``demo``) and the demo users.

What it does
------------

1. ``migrate``, then ``seed_demo --size large --seed 1 --today <today>``, timed as a
   command (budget 60 s); ``collectstatic`` (skipped when the sources have not changed
   since the last run); ``VACUUM ANALYZE``, as autovacuum would do after a bulk load.
2. The integration checks over every point of the portfolio, in-process as a worker runs
   them (``integration.services.integration_points_sweep``; budget 3 s).
3. The floors: the rows the roadmap (default window, all PIs) and the dependency map
   need, fetched by one raw SQL query (``bench/floor.py``). Each page is shown as a
   ratio to its floor, which can be compared across machines.
4. gunicorn with ``gunicorn.conf.py`` (preload, ``gc.freeze()``), 2 workers, DEBUG off,
   a SECRET_KEY made for the run, no HTTPS redirect, on a free loopback port, serving
   ``bench.wsgi``: the project's application plus an ``X-Bench-Queries`` header with the
   request's SQL query count (production serves ``portfolio.wsgi``, without it).
5. As the APMO (logged in through the login page), each page of the design; with the
   automation user's token, every API list the root ``/api/v1/`` names, with
   ``page_size=100``: 5 untimed requests, then 30 timed, one at a time
   (``bench/client.py``, Python's http.client, so no load tool needs installing).
   Median and nearest-rank p95 of the time to the last byte; the most queries any
   timed request ran.
6. The writes, each posted from its page as a person does: a status update by the RTE
   (budget 100 ms), and a dependency step (flag, clear the flag) that queues an email
   task. Then again with the broker down (nothing listening on its port) and hanging
   (a socket that accepts and never answers), each in its own gunicorn: budget 1.5 s.
   The broker that is up is the local Redis's database 14 (emptied before and after;
   ``BENCH_BROKER_URL`` for another), or an in-memory one when no Redis answers.
7. The intake task on the day after the next intake cutoff (after the pages: it moves
   epics to later PIs).
8. BENCHMARK.md (``--output``): the machine, the load average, the date, the tables.

Exit status: 0 within budget; 1 when a figure is over its budget or a request fails;
2 when the benchmark could not run. With ``--no-enforce`` (the smoke): 0 when every
request answered, 2 otherwise.

Budgets are the median over sequential requests. The machine is shared with whatever
else runs on it: the load average before the requests is in the report; figures taken
under load are not the budget's figures.
"""
