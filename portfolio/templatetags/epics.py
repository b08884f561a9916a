"""Template tags of the epic Kanban.

{% load epics %}
{% move_options epic.state %}   the <option>s of a card's move control: every other
                                column, the next one in the flow selected
"""

from functools import cache

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from portfolio.models import EpicState

register = template.Library()

FLOW = list(EpicState)


def suggested_state(state: str) -> str:
    """The column a move most likely goes to: the next one (from done, the one before)."""
    index = FLOW.index(state)
    return (FLOW[index + 1] if index + 1 < len(FLOW) else FLOW[index - 1]).value


@register.simple_tag
@cache
def move_options(state: str) -> str:
    # The same few variants on every card of every board: rendered once per process,
    # since a board holds a hundred and fifty move controls.
    suggested = suggested_state(state)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((s.value, mark_safe(" selected") if s.value == suggested else "", s.label) for s in FLOW if s.value != state),
    )
