"""``make bench``: seed, serve, measure, write BENCHMARK.md, fail when over budget.

    .venv/bin/python -m bench.run [--size large] [--requests 30] [--warmup 5]
                                  [--output BENCHMARK.md] [--no-enforce] [--skip-seed] [--only TEXT]

Read ``bench/__init__.py`` for what is measured and how. Exit status: 0 when every
figure is within its budget (or with ``--no-enforce``, when the harness ran through),
1 when a figure is over its budget, 2 when the benchmark could not run (a page that
does not answer 200 counts as over budget, not as this).
"""

import argparse
import datetime
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from bench import floor, measure, report, server
from bench.client import BenchError, Client
from bench.results import Figure

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "bench" / "bench.sqlite3"
BENCH_DATABASE_PREFIX = "tributary_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"  # database 14 of the local Redis belongs to the benchmark
DEMO_PASSWORD = "tributary-demo"  # noqa: S105 (the public password of the demo logins)

# The design's budgets (DESIGN.md, "Performance budget"), in milliseconds.
DASHBOARD, ROADMAP_DEFAULT, ROADMAP_ALL, DEPENDENCY_MAP = 150, 250, 800, 300
LIST_PAGE, API_LIST, STATUS_UPDATE, WRITE_BROKER_DOWN = 100, 50, 100, 1500
INTEGRATION_SWEEP, SEED_LARGE = 3000, 60000


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.0f} s] {message}", flush=True)


# --- The environment: database, settings, the commands before the server ----------------


def database_url(args) -> str:
    """DATABASE_URL when set (the budget figures are for PostgreSQL), else a SQLite file
    of the benchmark's own."""
    return args.database_url or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"


def owned_by_the_benchmark(url: str) -> bool:
    """The benchmark's own databases, which it may drop: its SQLite file, and PostgreSQL
    databases whose name starts with ``tributary_bench``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.startswith("postgres"):
        return parts.path.lstrip("/").startswith(BENCH_DATABASE_PREFIX)
    return url == f"sqlite:///{DEFAULT_SQLITE}"


def prepare_database(url: str, *, fresh: bool) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist; with
    ``fresh``, drop it (or the SQLite file) first, so that the seed is timed on an empty
    database rather than replacing an earlier demo."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        if fresh:
            for path in DEFAULT_SQLITE.parent.glob(f"{DEFAULT_SQLITE.name}*"):
                path.unlink()
        return
    import psycopg2
    from psycopg2 import sql

    name = parts.path.lstrip("/")
    connection = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or "") or None,
        dbname="postgres",
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            if fresh:
                say(f"Dropping the database {name}")
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                say(f"Creating the database {name}")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def settings_env(url: str) -> dict[str, str]:
    """Production settings on loopback: DEBUG off with a key made for this run, no HTTPS
    redirect (there is no proxy in front), the in-process tasks on an in-memory broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "EMAIL_URL": "consolemail://",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict, *arguments: str, log: Path) -> float:
    """Run ``manage.py`` with the benchmark's settings; returns its wall time in ms."""
    started = time.perf_counter()
    with open(log, "ab") as output:
        finished = subprocess.run(  # noqa: S603 (this interpreter and manage.py)
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    if finished.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BenchError(f"manage.py {' '.join(arguments)} failed ({finished.returncode}):\n{tail}")
    return (time.perf_counter() - started) * 1000


def broker_up_url() -> tuple[str, str]:
    """(URL, description) of the broker for the normal run: BENCH_BROKER_URL, else the
    local Redis's database 14 when it answers, else an in-memory broker."""
    url = os.environ.get("BENCH_BROKER_URL")
    if url:
        return url, url
    try:
        import redis

        redis.Redis.from_url(DEFAULT_BROKER, socket_timeout=1, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 (any failure means: no Redis here)
        return "memory://", "in-memory (no Redis answered at 127.0.0.1:6379)"
    return DEFAULT_BROKER, f"Redis, {DEFAULT_BROKER}"


def empty_bench_redis(url: str) -> None:
    """The tasks queued by the writes have no worker: drop them (database 14 is ours)."""
    if url == DEFAULT_BROKER:
        import redis

        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).flushdb()


def tasks_queued(url: str) -> int | None:
    """How many tasks wait in the default queue of a Redis broker (None: not Redis)."""
    if not url.startswith("redis"):
        return None
    import redis

    from portfolio.celery import app

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).llen(app.conf.task_default_queue)


def check_tasks_reached(broker_url: str, writes: list[Figure]) -> None:
    """The dependency steps each queue an email: with the broker up, those tasks must be
    on it. (Queuing never fails a request, the change being committed by then, so a
    broker the site cannot use shows only here and in the server's log.)"""
    steps = [f for f in writes if f.label.startswith("Dependency step") and not f.error and f.samples]
    if steps and tasks_queued(broker_url) == 0:
        for figure in steps:
            figure.error = "no task reached the broker (the server's log says why)"


def collect_static(env: dict, *, log: Path) -> None:
    """collectstatic for DEBUG off (hashed names, a manifest, compressed copies): about
    half a minute on two cores, so skipped when the sources are those collected last time."""
    import hashlib

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    sources = sorted(
        (path, storage.size(path), storage.get_modified_time(path).timestamp())
        for finder in get_finders()
        for path, storage in finder.list([])
    )
    fingerprint = hashlib.sha256(repr(sources).encode()).hexdigest()
    root = Path(settings.STATIC_ROOT)
    stamp = root / ".bench-collected"
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text() == fingerprint:
        say("Static files: collected already")
        return
    say("Collecting static files")
    manage(env, "collectstatic", "--no-input", "-v", "0", log=log)
    stamp.write_text(fingerprint)


def analyze() -> float:
    """Refresh the planner's statistics after the bulk load, as autovacuum soon would on a
    live database (and so that it does not start in the middle of the measurements)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return (time.perf_counter() - started) * 1000


# --- What the run reads from the seeded database --------------------------------------


@dataclass(frozen=True)
class Demo:
    """Ids and names of the seeded demo portfolio that the requests need."""

    portfolio_id: int
    today: datetime.date
    pi_ids: list[int]
    pi_starts: list[datetime.date]
    current_pi: int  # index in pi_ids
    next_intake_cutoff: datetime.date | None
    rte_train_id: int
    solution_train_id: int | None
    dependency_id: int
    largest_epic_column: str
    point_ids: list[int]
    release_id: int | None
    value_stream_id: int
    api_token: str
    navigation: list[str]

    @classmethod
    def load(cls, today: datetime.date, slug: str = "demo") -> "Demo":
        from django.contrib.auth import get_user_model
        from django.db.models import Count
        from rest_framework.authtoken.models import Token

        from cadence.models import ProgramIncrement
        from integration.models import IntegrationPoint, Release
        from portfolio.models import Epic, Portfolio
        from portfolio.navigation import navigation_for
        from valuestreams.models import OPEN_DEPENDENCY_STATES, Dependency, Train, TrainKind

        portfolio = Portfolio.objects.get(slug=slug)
        pis = list(ProgramIncrement.objects.filter(cadence=portfolio.cadence_id).order_by("start_date"))
        current = next((i for i, pi in enumerate(pis) if pi.end_date >= today), len(pis) - 1)
        in_portfolio = Train.objects.filter(value_stream__portfolio=portfolio)
        rte_train = in_portfolio.filter(engineer__username="rte", kind=TrainKind.ART).order_by("pk").first()
        dependency = (
            Dependency.objects.filter(portfolio=portfolio, state__in=OPEN_DEPENDENCY_STATES, flag="")
            .order_by("pk")
            .first()
        )
        columns = Epic.objects.filter(portfolio=portfolio).values("state").annotate(n=Count("pk")).order_by("-n")
        if rte_train is None or dependency is None or not pis:
            raise BenchError("the demo portfolio has no RTE train, no open dependency or no PIs: seed it first")
        apmo = get_user_model().objects.get(username="apmo")
        return cls(
            portfolio_id=portfolio.pk,
            today=today,
            pi_ids=[pi.pk for pi in pis],
            pi_starts=[pi.start_date for pi in pis],
            current_pi=current,
            next_intake_cutoff=next_cutoff_with_work(portfolio, pis, today),
            rte_train_id=rte_train.pk,
            solution_train_id=in_portfolio.filter(kind=TrainKind.SOLUTION).values_list("pk", flat=True).first(),
            dependency_id=dependency.pk,
            largest_epic_column=columns[0]["state"],
            point_ids=list(
                IntegrationPoint.objects.filter(portfolio=portfolio).order_by("date", "pk").values_list("pk", flat=True)
            ),
            release_id=Release.objects.filter(portfolio=portfolio).order_by("pk").values_list("pk", flat=True).first(),
            value_stream_id=in_portfolio.values_list("value_stream_id", flat=True).order_by("value_stream_id").first(),
            api_token=Token.objects.get(user__username="ci-pipeline").key,
            navigation=[link.url for link in navigation_for(user=apmo, path="/")],
        )

    @property
    def default_window(self) -> tuple[int, int]:
        return self.current_pi, min(len(self.pi_ids) - 1, self.current_pi + 3)


def next_cutoff_with_work(portfolio, pis, today: datetime.date) -> datetime.date | None:
    """The first intake cutoff from ``today`` on that leaves epics to defer (an epic
    targeting its PI that is not ready), else the next cutoff."""
    from portfolio.intake import intake_gaps, takes_part_in_intake
    from portfolio.models import Epic

    coming = [pi for pi in pis if pi.intake_cutoff >= today]
    unready = {
        epic.target_pi_id
        for epic in Epic.objects.filter(portfolio=portfolio, target_pi__in=coming)
        if takes_part_in_intake(epic) and intake_gaps(epic)
    }
    with_work = [pi.intake_cutoff for pi in coming if pi.pk in unready]
    return (with_work or [pi.intake_cutoff for pi in coming] or [None])[0]


# --- What is measured --------------------------------------------------------------------


def page_figures(demo: Demo) -> list[Figure]:
    """Each page of the design: the budgeted ones, then the others (reported only)."""
    first, last = demo.pi_ids[0], demo.pi_ids[-1]
    budgeted = [
        Figure("page", "Dashboard", "/", DASHBOARD),
        Figure("page", "Roadmap, default view (current PI and the next three)", "/roadmap/", ROADMAP_DEFAULT),
        Figure(
            "page",
            f"Roadmap, all {len(demo.pi_ids)} PIs and all epics",
            f"/roadmap/?pi_from={first}&pi_to={last}",
            ROADMAP_ALL,
        ),
        Figure("page", "Dependency map", "/dependencies/map/", DEPENDENCY_MAP),
        Figure("page", "Trains (list)", "/trains/", LIST_PAGE),
        Figure("page", "Dependencies (list)", "/dependencies/", LIST_PAGE),
        Figure("page", "Epic Kanban (top cards of each column)", "/epics/", LIST_PAGE),
        Figure("page", "Epic Kanban, the largest column in full", f"/epics/{demo.largest_epic_column}/", LIST_PAGE),
        Figure("page", "Cadence (PI calendar)", "/cadence/", LIST_PAGE),
        Figure("page", "Integration points (list)", "/integration/", LIST_PAGE),
        Figure("page", "Releases (list)", "/integration/releases/", LIST_PAGE),
        Figure("page", "Solution roadmaps (list)", "/roadmap/trains/", LIST_PAGE),
    ]
    known = {urllib.parse.urlsplit(f.path).path for f in budgeted}
    for url in demo.navigation:  # a page added to the navigation later is measured as a list page
        if url not in known and not url.startswith(("/api/", "/admin/")):
            budgeted.append(Figure("page", "Navigation entry (as a list page)", url, LIST_PAGE))
    reported = [
        Figure("page", "Train page (with the status form)", f"/trains/{demo.rte_train_id}/"),
        Figure("page", "Dependency page", f"/dependencies/{demo.dependency_id}/"),
        Figure("page", "Intake preview", "/epics/intake/"),
        Figure("page", "Current PI", f"/cadence/pi/{demo.pi_ids[demo.current_pi]}/"),
    ]
    if demo.solution_train_id:
        reported.append(Figure("page", "Solution roadmap", f"/roadmap/trains/{demo.solution_train_id}/"))
    if demo.point_ids:
        reported.append(Figure("page", "Integration point", f"/integration/{demo.point_ids[0]}/"))
    reported += [
        Figure("page", "Roadmap CSV export, all PIs", f"/roadmap/export.csv?pi_from={first}&pi_to={last}"),
        Figure("page", "Idle work", "/integration/idle/"),
        Figure("page", "Portfolio velocity", "/integration/velocity/"),
        Figure(
            "page", "Integration cadence economics of a value stream", f"/integration/economics/{demo.value_stream_id}/"
        ),
    ]
    if demo.release_id:
        reported.append(Figure("page", "Release", f"/integration/releases/{demo.release_id}/"))
    return budgeted + reported


def attach_floors(figures: list[Figure], demo: Demo, *, repeat: int) -> list[str]:
    """Time the floors the selected figures need; returns a note per floor."""
    notes = []
    lo, hi = demo.default_window
    wanted = {
        "/roadmap/": ("roadmap, default view", lambda: floor.roadmap_floor(
            demo.portfolio_id, demo.pi_starts[lo], demo.pi_starts[hi], repeat=repeat)),
        "/roadmap/?pi_from": ("roadmap, all PIs", lambda: floor.roadmap_floor(
            demo.portfolio_id, demo.pi_starts[0], demo.pi_starts[-1], repeat=repeat)),
        "/dependencies/map/": ("dependency map", lambda: floor.dependency_map_floor(demo.portfolio_id, repeat=repeat)),
    }  # fmt: skip
    for figure in figures:
        for prefix, (name, timed) in wanted.items():
            if figure.path == prefix or (prefix.endswith("pi_from") and figure.path.startswith(prefix)):
                figure.floor_ms, rows = timed()
                notes.append(f"Floor of the {name}: {figure.floor_ms:.1f} ms for {rows:,} rows (median of {repeat}).")
    return notes


def time_integration_checks(demo: Demo, *, sweeps: int) -> Figure:
    """One full run of the integration checks over every point of the portfolio, as the
    workers run it (``integration_points_sweep``: the dispatcher's batches, in-process).
    Each sweep is in its own check window, so each records a run for every point."""
    from django.db.models import Max
    from django.utils import timezone

    figure = Figure("task", f"Integration checks, all {len(demo.point_ids)} points", budget_ms=INTEGRATION_SWEEP)
    try:
        from integration import services
        from integration.models import IntegrationCheckRun

        minutes = services.check_window_minutes()
        now = timezone.now()
        # Past the last window an earlier run (--skip-seed) checked: every point is due again.
        runs = IntegrationCheckRun.objects.filter(integration_point_id__in=demo.point_ids)
        latest = runs.aggregate(last=Max("window_start"))["last"]
        if latest is not None:
            now = max(now, latest + datetime.timedelta(minutes=minutes))
        for sweep in range(sweeps):
            started = time.perf_counter()
            done = services.integration_points_sweep(
                now=now + datetime.timedelta(minutes=minutes * sweep), point_ids=demo.point_ids
            )
            figure.samples.append((time.perf_counter() - started) * 1000)
            if done.checked != len(demo.point_ids):
                figure.error = f"{done.checked} of {len(demo.point_ids)} points checked"
    except Exception as failure:  # noqa: BLE001 (a task that fails is a finding to report)
        figure.error = failed(failure)
        return figure
    figure.note = f"median of {sweeps}, {done.batches} batches of ids each"
    return figure


def time_intake(demo: Demo) -> Figure:
    """The intake task on the day after the next intake cutoff that has epics to defer
    (it runs after the pages are measured: it moves epics to later PIs)."""
    from portfolio.tasks import apply_intake_cutoffs

    day = (demo.next_intake_cutoff or demo.today) + datetime.timedelta(days=1)
    figure = Figure("task", "Intake task `apply_intake_cutoffs`")
    started = time.perf_counter()
    try:
        deferred = apply_intake_cutoffs(day.isoformat())
    except Exception as failure:  # noqa: BLE001 (a task that fails is a finding to report)
        figure.error = failed(failure)
        return figure
    figure.samples.append((time.perf_counter() - started) * 1000)
    figure.note = f"{deferred} epics deferred on {day}"
    return figure


def failed(failure: Exception) -> str:
    """The failure in one line for the table; its traceback on the console."""
    traceback.print_exception(failure)
    first_line = str(failure).splitlines()[0] if str(failure) else ""
    return f"{type(failure).__name__}: {first_line}"


def selected(figure: Figure, only: str | None) -> bool:
    return not only or only.lower() in f"{figure.label} {figure.path}".lower()


def show(figure: Figure) -> None:
    verdict = {True: "ok", False: "OVER", None: ""}[figure.within_budget]
    if figure.error:
        verdict = f"FAILED: {figure.error}"
    median = f"{figure.median:8.1f}" if figure.median is not None else "       —"
    p95 = f"{figure.p95:8.1f}" if figure.p95 is not None else "       —"
    queries = "—" if figure.queries is None else figure.queries
    costs = ""
    if figure.cpu_median is not None:
        costs = f"  (SQL {figure.sql_median:6.1f}, CPU {figure.cpu_median:6.1f})"
    say(f"  {median} ms  p95 {p95} ms  {queries!s:>4} queries{costs}  {figure.label} {figure.path}  {verdict}")


# --- The run -------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date.today())
    parser.add_argument("--requests", type=int, default=30, help="timed requests per URL (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests before them (default 5)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARK.md")
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else bench/bench.sqlite3")
    parser.add_argument("--no-enforce", action="store_true", help="report budgets but exit 0 (the CI smoke)")
    parser.add_argument("--skip-seed", action="store_true", help="measure the demo already in the database")
    parser.add_argument("--only", help="measure only the requests whose label or path contains this")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # Stopped from outside (CI's timeout): unwind, so that the servers started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = database_url(args)
    env = settings_env(url)
    os.environ.update(env)  # the in-process parts (tasks, floors) use the same settings
    work = Path(tempfile.mkdtemp(prefix="tributary-bench-"))
    log = work / "manage.log"
    repetition = measure.Repetition(args.warmup, args.requests)
    figures: list[Figure] = []
    notes: list[str] = []
    engine = urllib.parse.urlsplit(url).scheme
    say(f"Benchmark on {engine} ({'enforcing' if not args.no_enforce else 'reporting'} budgets); logs in {work}")
    try:
        prepare_database(url, fresh=owned_by_the_benchmark(url) and not args.skip_seed)
        say("Migrating")
        manage(env, "migrate", "--no-input", log=log)
        if not args.skip_seed:
            say(f"Seeding the {args.size} demo")
            ms = manage(
                env, "seed_demo", "--size", args.size, "--seed", str(args.seed), "--today", f"{args.today}", log=log
            )
            seed = Figure(
                "task",
                f"`seed_demo --size {args.size}`",
                budget_ms=SEED_LARGE if args.size == "large" else None,
                samples=[ms],
                note="wall time of the command",
            )
            figures.append(seed)
            show(seed)
        import django

        django.setup()
        collect_static(env, log=log)
        demo = Demo.load(args.today)
        ms = analyze()
        notes.append(f"`VACUUM ANALYZE` (SQLite: `ANALYZE`) after the seed, as autovacuum would: {ms:.0f} ms.")
        machine_info, load_before = report.machine(), os.getloadavg()[0]

        tasks = not args.only or args.only.lower() in "tasks integration checks intake"
        if tasks:
            say("Timing the integration checks in-process")
            figures.append(time_integration_checks(demo, sweeps=3 if args.requests >= 10 else 1))
            show(figures[-1])

        pages = [f for f in page_figures(demo) if selected(f, args.only)]
        notes += attach_floors(pages, demo, repeat=max(5, args.requests))
        broker_url, broker_name = broker_up_url()
        empty_bench_redis(broker_url)
        modes = [
            ("up", lambda: nullcontext(broker_url), broker_name),
            ("refused", lambda: nullcontext(server.refused_broker()), "nothing listens on its port"),
            ("hanging", server.hanging_broker, "a socket that accepts and never answers"),
        ]
        for mode, broker, description in modes:
            mode_writes = [
                Figure("write", f"Status update by the RTE, broker {mode}", f"/trains/{demo.rte_train_id}/",
                       STATUS_UPDATE if mode == "up" else WRITE_BROKER_DOWN),
                Figure("write", f"Dependency step (flag / clear) by the APMO, broker {mode}",
                       f"/dependencies/{demo.dependency_id}/", None if mode == "up" else WRITE_BROKER_DOWN),
            ]  # fmt: skip
            mode_writes = [f for f in mode_writes if selected(f, args.only)]
            if mode != "up" and not mode_writes:
                continue
            with broker() as broker_mode_url:
                say(f"Serving with gunicorn, broker {mode} ({description})")
                with server.gunicorn(
                    {**env, "CELERY_BROKER_URL": broker_mode_url}, log=work / f"gunicorn-{mode}.log"
                ) as port:
                    if mode == "up":
                        figures += measure_reads(port, demo, pages, repetition, only=args.only)
                    for figure in mode_writes:
                        figures.append(measure_write(port, demo, figure, repetition))
                        if mode == "up":
                            check_tasks_reached(broker_mode_url, [figure])
                        show(figures[-1])
        empty_bench_redis(broker_url)
        if tasks:
            say("Timing the intake task in-process")
            figures.append(time_intake(demo))
            show(figures[-1])
        notes.append(f"Broker for the pages and the first writes: {broker_name}.")
    except BenchError as error:
        say(f"\nThe benchmark could not run: {error}")
        return 2
    notes += [
        "gunicorn with `gunicorn.conf.py` (preload, `gc.freeze()`), 2 sync workers, serving `bench.wsgi` "
        "(the project's WSGI application plus a query-count header), DEBUG off, on loopback.",
        f"Each request: {args.warmup} untimed, then {args.requests} timed, one at a time, by `bench/client.py` "
        f"(Python's http.client); time from sending the request to the last byte of the answer. "
        f"p95 is the nearest rank.",
        "Queries: the most SQL queries any timed request ran, session and user included. SQL ms: the median "
        "time inside those queries (rows fetched included). Worker CPU ms: the median CPU time the gunicorn "
        "worker spent on the request, which other work on the machine inflates far less than the wall time.",
    ]
    settings_info = {
        "data": f"`seed_demo --size {args.size} --seed {args.seed} --today {args.today}`",
        "database URL": urllib.parse.urlsplit(url)._replace(netloc=urllib.parse.urlsplit(url).hostname or "").geturl(),
        "budgets": "enforced" if not args.no_enforce else "reported, not enforced (smoke run)",
    }
    text = report.markdown(
        settings=settings_info, machine_info=machine_info, figures=figures, notes=notes, load=load_before
    )
    args.output.write_text(text)
    over = [f for f in figures if f.within_budget is False]
    say(f"\nWrote {args.output}")
    for figure in over:
        say(f"  over budget: {figure.label} {figure.path} {figure.error or f'{figure.median:.0f} ms'}")
    if args.no_enforce:
        failed = [f for f in figures if f.error]
        return 2 if failed else 0
    return 1 if over else 0


def measure_reads(port: int, demo: Demo, pages: list[Figure], repetition, *, only: str | None) -> list[Figure]:
    client = Client(server.HOST, port)
    client.login("apmo", DEMO_PASSWORD)
    for figure in pages:
        measure.read(client, figure, repetition)
        show(figure)
    api = Client(server.HOST, port)
    api.headers["Authorization"] = f"Token {demo.api_token}"
    api.headers["Accept"] = "application/json"
    figures = list(pages)
    endpoints = measure.api_lists(api, "/api/v1/", page_size=100)
    endpoints.append(("train-status-reports", f"/api/v1/trains/{demo.rte_train_id}/status-reports/?page_size=100"))
    for name, path in endpoints:
        figure = Figure("api", name, path, API_LIST)
        if selected(figure, only):
            figures.append(measure.read(api, figure, repetition))
            show(figure)
    dependency_map = Figure("api", "dependency-map (not a list)", "/api/v1/dependency-map/")
    if selected(dependency_map, only):
        figures.append(measure.read(api, dependency_map, repetition))
        show(dependency_map)
    return figures


def measure_write(port: int, demo: Demo, figure: Figure, repetition) -> Figure:
    client = Client(server.HOST, port)
    if figure.label.startswith("Status update"):
        client.login("rte", DEMO_PASSWORD)
        return measure.status_updates(client, figure, figure.path, repetition)
    client.login("apmo", DEMO_PASSWORD)
    return measure.dependency_steps(client, figure, figure.path, repetition)


if __name__ == "__main__":
    sys.exit(main())
