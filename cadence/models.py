"""The portfolio's shared time structure: cadences, PIs, iterations and cadence events.

A cadence is pure time structure; portfolios, value streams and trains point at one.
"""

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from portfolio.core.models import VersionedModel


class Cadence(VersionedModel):
    """A rhythm of PIs: how many iterations a PI has, how long each is, and when it starts."""

    name = models.CharField(max_length=120, unique=True)
    start_date = models.DateField(help_text="First day of the first PI.")
    iterations_per_pi = models.PositiveSmallIntegerField(default=5)
    iteration_length_days = models.PositiveSmallIntegerField(default=14)
    has_ip_iteration = models.BooleanField(
        default=True, help_text="The last iteration of each PI is an Innovation & Planning iteration."
    )
    intake_cutoff_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days before PI planning by which an epic must be ready to enter that PI."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(iterations_per_pi__gte=1) & Q(iterations_per_pi__lte=12),
                name="%(app_label)s_%(class)s_iterations_per_pi_range",
            ),
            models.CheckConstraint(
                condition=Q(iteration_length_days__gte=5) & Q(iteration_length_days__lte=35),
                name="%(app_label)s_%(class)s_iteration_length_range",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def pi_length_days(self) -> int:
        return self.iterations_per_pi * self.iteration_length_days


class ProgramIncrementQuerySet(models.QuerySet):
    def overlapping(self, *, cadence_id: int, start: datetime.date, end: datetime.date, exclude_pk=None):
        qs = self.filter(cadence_id=cadence_id, start_date__lte=end, end_date__gte=start)
        return qs.exclude(pk=exclude_pk) if exclude_pk else qs

    def current(self, today: datetime.date):
        return self.filter(start_date__lte=today, end_date__gte=today)


class ProgramIncrement(VersionedModel):
    """A Program Increment (SAFe 6: Planning Interval): a fixed timebox of iterations.

    PIs of one cadence never overlap; on PostgreSQL an exclusion constraint and on
    SQLite a trigger, both named ``cadence_programincrement_no_overlap``, enforce it.
    """

    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="program_increments")
    name = models.CharField(max_length=60)
    number = models.PositiveIntegerField(help_text="Sequence number within the cadence.")
    start_date = models.DateField()
    end_date = models.DateField()
    planning_date = models.DateField(help_text="First day of PI planning.")
    intake_cutoff = models.DateField(help_text="Epics targeting this PI must be ready by this date.")
    history = HistoricalRecords()

    objects = ProgramIncrementQuerySet.as_manager()

    class Meta:
        ordering = ["cadence_id", "start_date"]
        verbose_name = "program increment"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")), name="%(app_label)s_%(class)s_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(intake_cutoff__lte=F("planning_date")),
                name="%(app_label)s_%(class)s_cutoff_before_planning",
            ),
            models.UniqueConstraint(fields=["cadence", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.UniqueConstraint(fields=["cadence", "number"], name="%(app_label)s_%(class)s_unique_number"),
        ]
        indexes = [models.Index(fields=["start_date", "end_date"])]

    def __str__(self):
        return self.name

    def clean(self):
        if self.start_date and self.end_date:
            if self.end_date <= self.start_date:
                raise ValidationError({"end_date": "A PI must end after it starts."})
            if (
                self.cadence_id
                and ProgramIncrement.objects.overlapping(
                    cadence_id=self.cadence_id, start=self.start_date, end=self.end_date, exclude_pk=self.pk
                ).exists()
            ):
                raise ValidationError({"start_date": "This PI would overlap another PI of the same cadence."})
        if self.intake_cutoff and self.planning_date and self.intake_cutoff > self.planning_date:
            raise ValidationError({"intake_cutoff": "The intake cutoff must not be after PI planning."})

    def contains(self, day: datetime.date) -> bool:
        return self.start_date <= day <= self.end_date


class Iteration(VersionedModel):
    """A timebox within a PI; the last may be an Innovation & Planning (IP) iteration."""

    program_increment = models.ForeignKey(ProgramIncrement, on_delete=models.CASCADE, related_name="iterations")
    number = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()
    is_innovation_planning = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["program_increment_id", "number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")), name="%(app_label)s_%(class)s_end_after_start"
            ),
            models.UniqueConstraint(
                fields=["program_increment", "number"], name="%(app_label)s_%(class)s_unique_number"
            ),
        ]

    def __str__(self):
        label = "IP" if self.is_innovation_planning else f"I{self.number}"
        return f"{self.program_increment.name} · {label}" if self.program_increment_id else label

    def clean(self):
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValidationError({"end_date": "An iteration must end after it starts."})


class CadenceEventKind(models.TextChoices):
    PI_PLANNING = "pi_planning", "PI planning"
    SYSTEM_DEMO = "system_demo", "System demo"
    SOLUTION_DEMO = "solution_demo", "Solution demo"
    INSPECT_ADAPT = "inspect_adapt", "Inspect & adapt"
    PORTFOLIO_SYNC = "portfolio_sync", "Portfolio sync"
    OTHER = "other", "Other"


class CadenceEvent(VersionedModel):
    """A dated event of the cadence: PI planning, a system demo, inspect & adapt, ..."""

    Kind = CadenceEventKind

    program_increment = models.ForeignKey(ProgramIncrement, on_delete=models.CASCADE, related_name="events")
    iteration = models.ForeignKey(Iteration, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=120)
    start_date = models.DateField()
    end_date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="%(app_label)s_%(class)s_end_not_before_start"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CadenceEventKind.values), name="%(app_label)s_%(class)s_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.start_date:%d %b %Y})"

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "An event cannot end before it starts."})


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeedToken(models.Model):
    """A person's secret for their calendar feed URLs.

    Calendar clients cannot log in, so the token in a feed URL stands for its user: the
    feed shows what that user may see. Resetting it replaces the token, and every URL
    made with the old one stops answering (404).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_token")
    token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)
    reset_at = models.DateTimeField(null=True, blank=True, help_text="When the user last replaced the token.")

    class Meta:
        verbose_name = "calendar feed token"

    def __str__(self):
        return f"Calendar feed token of {self.user}"
