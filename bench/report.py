"""BENCHMARK.md: the machine, the date, the figures against their budgets."""

import datetime
import os
import platform
from pathlib import Path

from bench.results import Figure

GROUP_TITLES = {
    "page": "Pages (logged in as the APMO)",
    "api": "API lists (the automation user's token, `page_size=100`)",
    "write": "Writes (posted from the page a person uses; the page load is not timed)",
}


def machine() -> dict[str, str]:
    """nproc, memory, CPU model, Python, the database engine and its version, Django."""
    import django
    from django.db import connection

    memory = cpu = "unknown"
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kib = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith("MemTotal:")))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            import sqlite3

            database = f"SQLite {sqlite3.sqlite_version}"
        else:
            database = connection.vendor
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "load average (1, 5, 15 min) before the requests": load,
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "memory": memory,
        "CPU model": cpu,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "database": database,
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def _budget(figure: Figure) -> str:
    if figure.budget_ms is None:
        return "—"
    return f"≤ {figure.budget_ms / 1000:g} s" if figure.budget_ms >= 1000 else f"≤ {figure.budget_ms:g} ms"


def _verdict(figure: Figure) -> str:
    if figure.error:
        return f"✗ {figure.error}"
    return {True: "✓", False: "✗", None: ""}[figure.within_budget]


def _row(figure: Figure) -> str:
    label = f"{figure.label} `{figure.path}`" if figure.path else figure.label
    if figure.note:
        label += f" ({figure.note})"
    ratio = figure.floor_ratio
    cells = [
        label,
        _ms(figure.median),
        _ms(figure.p95),
        "—" if figure.queries is None else str(figure.queries),
        _ms(figure.sql_median),
        _ms(figure.cpu_median),
        _budget(figure),
        _verdict(figure),
        "—" if ratio is None else f"{ratio:.1f}× ({_ms(figure.floor_ms)} ms)",
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def markdown(
    *, settings: dict[str, str], machine_info: dict[str, str], figures: list[Figure], notes: list[str], load: float
) -> str:
    """The report; ``load`` is the 1-minute load average before the requests."""
    over = [f for f in figures if f.within_budget is False]
    lines = [
        "# Tributary benchmark",
        "",
        "Written by `make bench` (`bench/run.py`): read how it measures in `bench/__init__.py`.",
        f"{'All figures are within their budgets.' if not over else f'{len(over)} figure(s) over budget or failing.'}",
        "",
    ]
    cpus = len(os.sched_getaffinity(0))
    if load > 0.75 * cpus:  # the seed just before adds up to about one
        lines += [
            f"**The machine was busy** (load average {load:.1f} on {cpus} CPUs before the requests): other work "
            "competed for the CPUs, so the wall times are inflated. The SQL ms and worker CPU ms columns show what "
            "each request itself cost.",
            "",
        ]
    lines += [
        "## Run",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} |",
        *(f"| {name} | {value} |" for name, value in {**machine_info, **settings}.items()),
        "",
    ]
    for group, title in GROUP_TITLES.items():
        rows = [f for f in figures if f.group == group]
        if not rows:
            continue
        lines += [
            f"## {title}",
            "",
            "| request | median ms | p95 ms | queries | SQL ms | worker CPU ms | budget (median) | within budget "
            "| ratio to floor (floor) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
            *(_row(f) for f in rows),
            "",
        ]
    tasks = [f for f in figures if f.group == "task"]
    if tasks:
        lines += [
            "## Seed and tasks (in-process, one run each unless noted)",
            "",
            "| what | time | budget | within budget |",
            "| --- | ---: | --- | --- |",
            *(
                f"| {f.label}{f' ({f.note})' if f.note else ''} | {_seconds(f.median)} | {_budget(f)} | {_verdict(f)} |"
                for f in tasks
            ),
            "",
        ]
    if notes:
        lines += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    return "\n".join(lines)


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"
