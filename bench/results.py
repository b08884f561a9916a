"""What the benchmark measured: one Figure per row of BENCHMARK.md, and the statistics."""

import math
import statistics
from dataclasses import dataclass, field


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``fraction`` of the
    samples at or below it (p95 of 30 samples is the 29th fastest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Figure:
    """One measured request or task, and its budget from the design (None: reported only)."""

    group: str  # "page", "api", "write" or "task"
    label: str
    path: str = ""
    budget_ms: float | None = None
    samples: list[float] = field(default_factory=list)
    sql_samples: list[float] = field(default_factory=list)  # ms in SQL, per timed request
    cpu_samples: list[float] = field(default_factory=list)  # the worker's CPU ms, per timed request
    queries: int | None = None
    floor_ms: float | None = None
    note: str = ""
    error: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def sql_median(self) -> float | None:
        return statistics.median(self.sql_samples) if self.sql_samples else None

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_samples) if self.cpu_samples else None

    def add(self, response) -> None:
        """Record a timed response: its time, its query count (the most seen) and costs."""
        self.samples.append(response.ms)
        if response.queries is not None:
            self.queries = max(self.queries or 0, response.queries)
        if response.sql_ms is not None:
            self.sql_samples.append(response.sql_ms)
        if response.cpu_ms is not None:
            self.cpu_samples.append(response.cpu_ms)

    @property
    def p95(self) -> float | None:
        return percentile(self.samples, 0.95) if self.samples else None

    @property
    def within_budget(self) -> bool | None:
        if self.error:
            return False
        if self.budget_ms is None or self.median is None:
            return None
        return self.median <= self.budget_ms

    @property
    def floor_ratio(self) -> float | None:
        if self.floor_ms is None or self.median is None or self.floor_ms <= 0:
            return None
        return self.median / self.floor_ms
