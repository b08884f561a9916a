"""Template tags for trains' status.

{% load trains %}
{% health_badge report stale %}   the report's health as a badge, and "Stale" when stale
                                  ("No status yet" without a report)
{% confidence value %}            a PI confidence of 1-5 as five pips and "4/5"
"""

from django import template

register = template.Library()


@register.inclusion_tag("valuestreams/_health_badge.html")
def health_badge(report, stale=False):
    return {"report": report, "stale": stale}


@register.inclusion_tag("valuestreams/_confidence.html", takes_context=True)
def confidence(context, value):
    return {"value": value, "pips": [i <= (value or 0) for i in range(1, 6)], "words": context.get("words")}
