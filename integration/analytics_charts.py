"""The geometry of the analytics charts, drawn as inline SVG by the templates.

Each function takes plain numbers and returns dataclasses of coordinates in the SVG's
own units (its ``viewBox``): the templates only lay them out, and the same numbers
are in a table beside each chart for screen readers and print.

- ``velocity_chart``: small multiples, one row of bars per value stream on a shared
  scale (a stacked or grouped chart would double-count the points several value
  streams share, or bury eight colours in each PI). A solid bar is the points passed,
  the outline behind it the points scheduled in that PI; the first row is the whole
  portfolio (each point once) on its own scale.
- ``u_curve_chart``: the total cost per day over candidate intervals, its two parts
  as thin dashed lines, T* and the current intervals as labelled vertical markers.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

# --- Scales ------------------------------------------------------------------------


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10 ** (exponent + 1)


def ticks(maximum: float, *, count: int = 5) -> list[float]:
    """Evenly spaced round values from 0 to at least ``maximum``."""
    step = nice_ceiling(maximum / count) if maximum > 0 else 1.0
    values, value = [], 0.0
    while value < maximum * (1 + 1e-9) + step / 2 and len(values) <= count + 2:
        values.append(round(value, 10))
        value += step
    return values


def format_number(value: float) -> str:
    """A tick or value label: no trailing zeros, at most two decimals."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# --- Velocity ----------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnLabel:
    x: float  # centre
    label: str
    note: str  # e.g. "current"
    band_x: float
    band_width: float
    current: bool


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    passed: int
    scheduled: int
    passed_y: float
    passed_height: float
    scheduled_y: float
    scheduled_height: float
    label_y: float
    label_x: float
    title: str


@dataclass(frozen=True)
class BarRow:
    label: str
    note: str
    y: float  # top of the row
    height: float
    baseline: float
    label_x: float
    label_y: float
    note_y: float
    empty_y: float  # where a PI without points shows a dash
    bars: tuple[Bar, ...]
    total: bool


@dataclass(frozen=True)
class VelocityChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    axis_y: float
    band_y: float  # the current PI's band, behind the bars
    band_height: float
    column_label_y: float
    column_note_y: float
    columns: tuple[ColumnLabel, ...]
    rows: tuple[BarRow, ...]
    separator_y: float | None


VELOCITY_WIDTH = 960
VELOCITY_LABEL_WIDTH = 210
VELOCITY_ROW = 58
VELOCITY_TOTAL_ROW = 84
VELOCITY_TOP = 34  # room for the legend
VELOCITY_BOTTOM = 40  # room for the PI names


def velocity_chart(
    *,
    columns: Sequence[tuple[str, str, bool]],
    total: tuple[str, Sequence[tuple[int, int]]] | None,
    rows: Sequence[tuple[str, str, Sequence[tuple[int, int]]]],
) -> VelocityChart:
    """``columns``: (PI name, note, is current) per PI; ``total`` and each of ``rows``:
    (label, [note,] [(passed, scheduled) per PI])."""
    plot_left, plot_right = VELOCITY_LABEL_WIDTH, VELOCITY_WIDTH - 12
    n = max(len(columns), 1)
    band = (plot_right - plot_left) / n
    bar_width = min(band * 0.46, 54.0)
    centres = [plot_left + band * (i + 0.5) for i in range(n)]
    shared_max = max((scheduled for _, _, values in rows for _, scheduled in values), default=0)
    shared_max = max(shared_max, max((passed for _, _, values in rows for passed, _ in values), default=0), 1)

    laid_out: list[BarRow] = []
    y = float(VELOCITY_TOP)
    separator = None

    def row(label: str, note: str, values, *, height: float, scale_max: int, is_total: bool) -> BarRow:
        top_pad = 16.0  # room for the value label above the tallest bar
        baseline = y + height - 6
        usable = height - 6 - top_pad
        bars = []
        for centre, (passed, scheduled) in zip(centres, values, strict=True):
            passed_h = usable * passed / scale_max
            scheduled_h = usable * max(scheduled, passed) / scale_max
            bars.append(
                Bar(
                    x=round(centre - bar_width / 2, 2),
                    width=round(bar_width, 2),
                    passed=passed,
                    scheduled=scheduled,
                    passed_y=round(baseline - passed_h, 2),
                    passed_height=round(passed_h, 2),
                    scheduled_y=round(baseline - scheduled_h, 2),
                    scheduled_height=round(scheduled_h, 2),
                    label_x=round(centre, 2),
                    label_y=round(baseline - max(scheduled_h, passed_h) - 4, 2),
                    title=f"{label}: {passed} of {scheduled} passed",
                )
            )
        label_y = round(baseline - usable / 2 + (0 if note else 6), 2)
        return BarRow(
            label=label,
            note=note,
            y=round(y, 2),
            height=height,
            baseline=round(baseline, 2),
            label_x=plot_left - 14,
            label_y=label_y,
            note_y=round(label_y + 15, 2),
            empty_y=round(baseline - 5, 2),
            bars=tuple(bars),
            total=is_total,
        )

    if total is not None:
        label, values = total
        total_max = max([max(scheduled, passed) for passed, scheduled in values] + [1])
        laid_out.append(
            row(label, "each point once", values, height=VELOCITY_TOTAL_ROW, scale_max=total_max, is_total=True)
        )
        y += VELOCITY_TOTAL_ROW + 10
        separator = round(y - 5, 2)
    for label, note, values in rows:
        laid_out.append(row(label, note, values, height=VELOCITY_ROW, scale_max=shared_max, is_total=False))
        y += VELOCITY_ROW
    axis_y = y + 2
    height = int(axis_y + VELOCITY_BOTTOM)
    labels = tuple(
        ColumnLabel(
            x=round(centre, 2),
            label=name,
            note=note,
            band_x=round(centre - band / 2, 2),
            band_width=round(band, 2),
            current=current,
        )
        for centre, (name, note, current) in zip(centres, columns, strict=False)
    )
    return VelocityChart(
        width=VELOCITY_WIDTH,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        axis_y=round(axis_y, 2),
        band_y=VELOCITY_TOP - 10,
        band_height=round(axis_y + 36 - (VELOCITY_TOP - 10), 2),
        column_label_y=round(axis_y + 17, 2),
        column_note_y=round(axis_y + 32, 2),
        columns=labels,
        rows=tuple(laid_out),
        separator_y=separator,
    )


# --- The U-curve -------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at an interval, with its dot on the curve and a label."""

    kind: str  # "optimum", "cadence", "actual"
    x: float
    dot_y: float | None
    label: str
    detail: str
    label_y: float
    anchor: str  # text-anchor of the label
    label_x: float
    line_top: float

    @property
    def diamond_corner(self) -> tuple[float, float] | None:
        """The top-left corner of a 10-unit square centred on the dot (drawn turned 45°)."""
        return None if self.dot_y is None else (round(self.x - 5, 2), round(self.dot_y - 5, 2))


@dataclass(frozen=True)
class UCurveChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    total_path: str
    transaction_path: str
    holding_path: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    markers: tuple[Marker, ...]
    clipped_short: bool  # the curve runs above the plot at the shortest intervals
    clipped_long: bool  # and at the longest
    x_title: str
    y_title: str

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    @property
    def y_label_x(self) -> int:
        return self.left - 8

    @property
    def x_tick_end(self) -> int:
        return self.bottom + 5

    @property
    def x_label_y(self) -> int:
        return self.bottom + 20

    @property
    def x_title_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def x_title_y(self) -> int:
        return self.height - 10

    @property
    def y_title_y(self) -> float:
        return (self.top + self.bottom) / 2


CURVE_WIDTH = 960
CURVE_HEIGHT = 440
CURVE_MARGIN = {"left": 78, "right": 28, "top": 66, "bottom": 56}


MARKER_ROW_TOP = 18
MARKER_ROW = 18


def label_width(text: str, *, font_size: float = 12.5) -> float:
    """A generous estimate of a label's width in the sans-serif the pages use."""
    return len(text) * font_size * 0.56


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))


def u_curve_chart(
    *,
    intervals: Sequence[float],
    totals: Sequence[float],
    transactions: Sequence[float],
    holdings: Sequence[float],
    markers: Sequence[tuple[str, float, float, str, str]],
    unit: str,
) -> UCurveChart:
    """``markers``: (kind, interval, cost per day there, label, detail) for T* and the
    current intervals. The y scale shows the bottom of the U: up to 2.5 times the least
    cost, or further to show every marker; what is above is cut off (``clipped_*``)."""
    left, right = CURVE_MARGIN["left"], CURVE_WIDTH - CURVE_MARGIN["right"]
    top, bottom = CURVE_MARGIN["top"], CURVE_HEIGHT - CURVE_MARGIN["bottom"]
    x_max = max(intervals)
    least = min(totals)
    wanted = max([least * 2.5, *(cost * 1.15 for _, _, cost, _, _ in markers)])
    y_max = nice_ceiling(wanted)

    def sx(value: float) -> float:
        return left + (right - left) * value / x_max

    def sy(value: float) -> float:
        return bottom - (bottom - top) * min(value, y_max * 1.02) / y_max

    def path(values: Sequence[float]) -> str:
        return _path([(sx(t), sy(v)) for t, v in zip(intervals, values, strict=True)])

    x_step = 7 if x_max <= 154 else 14 if x_max <= 308 else 28
    x_ticks = tuple(Tick(round(sx(t), 2), str(t)) for t in range(0, int(x_max) + 1, x_step))
    y_ticks = tuple(Tick(round(sy(v), 2), format_number(v)) for v in ticks(y_max) if v <= y_max + 1e-9)

    placed: list[Marker] = []
    spans: dict[int, list[tuple[float, float]]] = {}  # label row -> horizontal extents taken
    for kind, interval, cost, label, detail in sorted(markers, key=lambda m: m[1]):
        x = sx(interval)
        width = label_width(f"{label} · {detail}")
        # A label reads to the right of its line unless that runs past the plot.
        anchor = "start" if x + 6 + width <= CURVE_WIDTH - 4 else "end"
        start = x + 6 if anchor == "start" else x - 6 - width
        # Labels of close markers stack in rows above the plot rather than overlap.
        row = 0
        while any(start < end + 12 and begin < start + width + 12 for begin, end in spans.get(row, ())):
            row += 1
        spans.setdefault(row, []).append((start, start + width))
        label_y = MARKER_ROW_TOP + MARKER_ROW * row
        placed.append(
            Marker(
                kind=kind,
                x=round(x, 2),
                dot_y=round(sy(cost), 2) if cost <= y_max else None,
                label=label,
                detail=detail,
                label_y=label_y,
                anchor=anchor,
                label_x=round(x + (6 if anchor == "start" else -6), 2),
                line_top=label_y + 5,
            )
        )
    return UCurveChart(
        width=CURVE_WIDTH,
        height=CURVE_HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        total_path=path(totals),
        transaction_path=path(transactions),
        holding_path=path(holdings),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        markers=tuple(placed),
        clipped_short=totals[0] > y_max,
        clipped_long=totals[-1] > y_max,
        x_title="Days between integrations (T)",
        y_title=f"Cost per day ({unit})",
    )
