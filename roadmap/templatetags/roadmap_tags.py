"""Template tags of the roadmap pages: links that keep the current filters.

{% load roadmap_tags %}
{% query_with request pi_from=None expand=None %}   "?..." of the request's query with
                                                     those parameters replaced (None drops one)
{% expand_toggle request lane.value_stream.pk %}     "?..." that expands the lane, or
                                                     collapses it when it is expanded
{% roadmap_bar bar lane.value_stream.pk %}          a bar of the portfolio roadmap
"""

import functools

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

register = template.Library()


def _query(params) -> str:
    pairs = [(key, value) for key, values in params.lists() for value in values if value not in ("", None)]
    return f"?{urlencode(pairs)}" if pairs else "?"


@register.simple_tag
def query_with(request, **changes) -> str:
    params = request.GET.copy()
    params.pop("format", None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params.setlist(key, [str(value)])
    return _query(params)


@register.simple_tag
def expand_toggle(request, value_stream_id) -> str:
    params = request.GET.copy()
    params.pop("format", None)
    expanded = [v for v in params.getlist("expand") if v.isdigit()]
    wanted = str(value_stream_id)
    params.setlist("expand", [v for v in expanded if v != wanted] if wanted in expanded else [*expanded, wanted])
    return _query(params)


# --- Bars -------------------------------------------------------------------------------
# A large roadmap has a couple of thousand bars: each is written here in one piece
# rather than by a dozen template nodes (five times faster), with every value escaped.


@functools.cache
def _solution_roadmap_prefix() -> str:
    return reverse("roadmap:solution-roadmap", args=[0]).removesuffix("0/")


@register.simple_tag
def roadmap_bar(bar, lane_id) -> str:
    """An epic's bar, or a capability's in an expanded lane, as a link to the solution
    roadmap that carries it."""
    classes = ["rm-bar", f"rm-bar--{bar.status}"]
    if bar.capability_id is not None:
        classes.insert(1, "rm-cap")
        anchor = f"capability-{bar.capability_id}"
    else:
        anchor = f"epic-{bar.epic.id}"
    if bar.later_than_target:
        classes.append("is-late")
    if bar.clipped_start:
        classes.append("clip-start")
    if bar.clipped_end:
        classes.append("clip-end")
    if bar.roadmap_train_id:
        href = f"{_solution_roadmap_prefix()}{bar.roadmap_train_id}/#{anchor}"
    else:
        href = f"#lane-{lane_id}"
    segments = "".join(f'<span class="rm-seg rm-seg--{s.status}"></span>' for s in bar.segments)
    if bar.capability_id is not None:
        label = escape(bar.label)
        spoken = f"{bar.pi_span}, {bar.status}"
    else:
        flag = '<span class="rm-flag" aria-hidden="true">⚑</span>' if bar.later_than_target else ""
        label = f'{flag}<span class="rm-bar-key">{escape(bar.epic.key)}</span> {escape(bar.epic.title)}'
        spoken = f"{bar.pi_span}, {bar.status}"
        if bar.later_than_target:
            spoken += f", starts later than its target {bar.epic.target_pi_name}"
    return mark_safe(  # noqa: S308 (every value above is escaped or generated here)
        f'<a class="{" ".join(classes)}" style="grid-column: {bar.grid_column}; grid-row: {bar.row + 1}" '
        f'href="{escape(href)}" title="{escape(bar.title)}">'
        f'<span class="rm-segs" aria-hidden="true">{segments}</span>'
        f'<span class="rm-bar-label">{label}<span class="visually-hidden">: {escape(spoken)}</span></span></a>'
    )
