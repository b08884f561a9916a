"""Milestones on the solution roadmaps and the portfolio roadmap."""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from portfolio.core.models import VersionedModel


class MilestoneKind(models.TextChoices):
    FIXED_DATE = "fixed_date", "Fixed date"
    PI_EVENT = "pi_event", "PI event"
    LEARNING = "learning", "Learning milestone"
    RELEASE = "release", "Release"


class Milestone(VersionedModel):
    """A marker on a roadmap: a fixed date, a PI event, a learning point or a release.

    With a train it belongs to that train's solution roadmap; without, to the
    portfolio roadmap.
    """

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="milestones")
    train = models.ForeignKey(
        "valuestreams.Train", on_delete=models.CASCADE, null=True, blank=True, related_name="milestones"
    )
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=12, choices=MilestoneKind.choices, default=MilestoneKind.FIXED_DATE)
    date = models.DateField()
    program_increment = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.SET_NULL, null=True, blank=True, related_name="milestones"
    )
    release = models.ForeignKey(
        "integration.Release", on_delete=models.CASCADE, null=True, blank=True, related_name="milestones"
    )
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MilestoneKind.values), name="%(app_label)s_%(class)s_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=MilestoneKind.RELEASE) | Q(release__isnull=False) | Q(train__isnull=False),
                name="%(app_label)s_%(class)s_release_marker_has_release",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.date:%d %b %Y})"
