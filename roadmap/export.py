"""The portfolio roadmap as CSV: one row per bar shown (an epic in a value stream's
lane, a capability of an expanded lane) and per milestone shown, in the order of the
page. Cells that a spreadsheet would run as a formula are quoted (OWASP CSV injection)."""

import csv

from django.http import HttpResponse

from .selectors import SOURCE_WORK, Bar, MilestoneMarker, PortfolioRoadmap

HEADER = (
    "type",
    "value_stream",
    "key",
    "name",
    "kind",
    "state",
    "themes",
    "first_pi",
    "last_pi",
    "status",
    "source",
    "target_pi",
    "starts_later_than_target",
    "capabilities",
    "features",
    "date",
    "train",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _bar_row(value_stream, bar: Bar) -> list:
    epic = bar.epic
    if bar.capability_id is not None:
        key, _, name = bar.label.partition(" ")
        return [
            "capability", value_stream.name, key, name, "capability", "", "", bar.first_pi.name, bar.last_pi.name,
            bar.status, "", epic.target_pi_name if epic else "", "", "", "", "", "",
        ]  # fmt: skip
    return [
        "epic",
        value_stream.name,
        epic.key,
        epic.title,
        epic.kind,
        epic.state_label,
        "; ".join(epic.themes),
        bar.first_pi.name,
        bar.last_pi.name,
        bar.status,
        "capabilities and features" if bar.source == SOURCE_WORK else "target PI",
        epic.target_pi_name or "",
        bar.later_than_target,
        bar.capabilities,
        bar.features,
        "",
        "",
    ]


def _milestone_row(value_stream, marker: MilestoneMarker) -> list:
    pi = marker.program_increment_name or ""
    return [
        "milestone", value_stream.name if value_stream else "", "", marker.name, marker.kind_label, "", "", pi, pi,
        "", "", "", "", "", "", marker.date.isoformat(), marker.train_name or "",
    ]  # fmt: skip


def roadmap_rows(roadmap: PortfolioRoadmap) -> list[list[str]]:
    rows = [[_cell(v) for v in _milestone_row(None, m)] for m in roadmap.milestones]
    for lane in roadmap.lanes:
        rows += [[_cell(v) for v in _milestone_row(lane.value_stream, m)] for m in lane.milestones]
        rows += [[_cell(v) for v in _bar_row(lane.value_stream, bar)] for bar in lane.bars]
        rows += [[_cell(v) for v in _bar_row(lane.value_stream, bar)] for bar in lane.capabilities]
    return rows


def filename(roadmap: PortfolioRoadmap) -> str:
    span = f"{roadmap.columns[0].name}-{roadmap.columns[-1].name}" if roadmap.columns else "no-pis"
    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in f"{roadmap.portfolio.slug}-{span}")
    return f"roadmap-{safe}.csv"


def csv_response(roadmap: PortfolioRoadmap, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8", status=status)
    response["Content-Disposition"] = f'attachment; filename="{filename(roadmap)}"'
    writer = csv.writer(response)
    writer.writerow(HEADER)
    writer.writerows(roadmap_rows(roadmap))
    return response
