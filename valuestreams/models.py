"""Value streams, their trains and teams, the work the trains carry (capabilities and
features), train status reports and dependencies between trains."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from portfolio.core.models import VersionedModel


class ValueStream(VersionedModel):
    """A long-lived flow of work that delivers a solution; it runs one or more trains."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="value_streams")
    name = models.CharField(max_length=120)
    key = models.CharField(max_length=12, help_text="Short code shown on boards, e.g. PAY.")
    description = models.TextField(blank=True)
    cadence = models.ForeignKey(
        "cadence.Cadence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="value_streams",
        help_text="Leave empty to follow the portfolio's cadence.",
    )
    # The epics that touch this value stream (kept here: the portfolio app is below).
    epics = models.ManyToManyField("portfolio.Epic", blank=True, related_name="value_streams")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.UniqueConstraint(fields=["portfolio", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self):
        return self.name


class TrainKind(models.TextChoices):
    ART = "art", "Agile Release Train"
    SOLUTION = "solution", "Solution train"


class Train(VersionedModel):
    """An Agile Release Train or a solution train (which groups ARTs of a large solution).

    Its engineer is the RTE of an ART or the STE of a solution train.
    """

    value_stream = models.ForeignKey(ValueStream, on_delete=models.CASCADE, related_name="trains")
    kind = models.CharField(max_length=10, choices=TrainKind.choices, default=TrainKind.ART)
    name = models.CharField(max_length=120)
    key = models.CharField(max_length=12, help_text="Short code, unique in the portfolio's value stream.")
    solution_train = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="arts",
        limit_choices_to={"kind": TrainKind.SOLUTION},
    )
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="engineered_trains",
        help_text="The RTE of an ART or the STE of a solution train.",
    )
    cadence = models.ForeignKey(
        "cadence.Cadence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trains",
        help_text="Leave empty to follow the value stream's (or the portfolio's) cadence.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["value_stream__name", "-kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["value_stream", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.UniqueConstraint(fields=["value_stream", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(condition=Q(kind__in=TrainKind.values), name="%(app_label)s_%(class)s_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=TrainKind.ART) | Q(solution_train__isnull=True),
                name="%(app_label)s_%(class)s_only_arts_join_solution_trains",
            ),
            models.CheckConstraint(
                condition=~Q(solution_train=F("id")), name="%(app_label)s_%(class)s_not_own_solution_train"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_solution_train(self) -> bool:
        return self.kind == TrainKind.SOLUTION

    @property
    def engineer_title(self) -> str:
        return "STE" if self.is_solution_train else "RTE"

    def clean(self):
        if self.solution_train_id:
            if self.kind != TrainKind.ART:
                raise ValidationError({"solution_train": "Only an ART can belong to a solution train."})
            if self.solution_train.kind != TrainKind.SOLUTION:
                raise ValidationError({"solution_train": "Choose a solution train."})
            if self.value_stream_id and self.solution_train.value_stream.portfolio_id != self.value_stream.portfolio_id:
                raise ValidationError({"solution_train": "The solution train belongs to another portfolio."})


class TeamKind(models.TextChoices):
    AGILE = "agile", "Agile team"
    SYSTEM = "system", "System team"
    SHARED_SERVICE = "shared_service", "Shared service"


class Team(VersionedModel):
    """An agile team on an ART, or a system team or shared service that may serve several
    trains (and value streams)."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=TeamKind.choices, default=TeamKind.AGILE)
    train = models.ForeignKey(
        Train, on_delete=models.CASCADE, null=True, blank=True, related_name="teams", help_text="The home train."
    )
    serves = models.ManyToManyField(
        Train, blank=True, related_name="served_by", help_text="Further trains a system team or shared service serves."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.CheckConstraint(condition=Q(kind__in=TeamKind.values), name="%(app_label)s_%(class)s_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=TeamKind.AGILE) | Q(train__isnull=False),
                name="%(app_label)s_%(class)s_agile_team_has_train",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.kind == TeamKind.AGILE and not self.train_id:
            raise ValidationError({"train": "An agile team belongs to a train."})


class Health(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"


class StatusReport(models.Model):
    """One weekly status of a train. Reports are never edited: each update is a new row,
    so the history is kept. ``based_on`` is the report the author saw when writing; only
    one report may be based on any report (and only one on none), so of two people
    writing against the same state, the second is refused by the database."""

    train = models.ForeignKey(Train, on_delete=models.CASCADE, related_name="status_reports")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="status_reports"
    )
    created_at = models.DateTimeField()
    health = models.CharField(max_length=10, choices=Health.choices)
    pi_confidence = models.PositiveSmallIntegerField(
        help_text="The train's confidence in meeting its PI objectives, 1 (none) to 5 (full)."
    )
    summary = models.TextField()
    risks = models.TextField(blank=True)
    blockers = models.TextField(blank=True)
    based_on = models.OneToOneField(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="superseded_by"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(pi_confidence__gte=1) & Q(pi_confidence__lte=5),
                name="%(app_label)s_%(class)s_confidence_range",
            ),
            models.CheckConstraint(condition=Q(health__in=Health.values), name="%(app_label)s_%(class)s_health_valid"),
            models.UniqueConstraint(
                fields=["train"], condition=Q(based_on__isnull=True), name="%(app_label)s_%(class)s_one_first_report"
            ),
        ]
        indexes = [models.Index(fields=["train", "-created_at"])]

    def __str__(self):
        return f"{self.train} · {self.get_health_display()} · {self.created_at:%d %b %Y}"


class WorkState(models.TextChoices):
    BACKLOG = "backlog", "Backlog"
    IMPLEMENTING = "implementing", "Implementing"
    DONE = "done", "Done"


class Commitment(models.TextChoices):
    COMMITTED = "committed", "Committed"
    FORECAST = "forecast", "Forecast"


class Capability(VersionedModel):
    """Solution-level work: part of an epic, carried by a solution train (or by an ART
    outside any solution train), placed on a PI of its roadmap."""

    train = models.ForeignKey(Train, on_delete=models.CASCADE, related_name="capabilities")
    epic = models.ForeignKey(
        "portfolio.Epic", on_delete=models.SET_NULL, null=True, blank=True, related_name="capabilities"
    )
    key = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    program_increment = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.SET_NULL, null=True, blank=True, related_name="capabilities"
    )
    commitment = models.CharField(max_length=10, choices=Commitment.choices, default=Commitment.FORECAST)
    state = models.CharField(max_length=14, choices=WorkState.choices, default=WorkState.BACKLOG)
    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "capabilities"
        # Lists are in key order, a page at a time: the index reads a page without sorting them all.
        indexes = [models.Index(fields=["key", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["train", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(condition=Q(state__in=WorkState.values), name="%(app_label)s_%(class)s_state_valid"),
            models.CheckConstraint(
                condition=Q(commitment__in=Commitment.values), name="%(app_label)s_%(class)s_commitment_valid"
            ),
        ]

    def __str__(self):
        return f"{self.key} {self.name}"


class Feature(VersionedModel):
    """ART-level work that fits in a PI: part of a capability or directly of an epic."""

    train = models.ForeignKey(Train, on_delete=models.CASCADE, related_name="features")
    capability = models.ForeignKey(
        Capability, on_delete=models.SET_NULL, null=True, blank=True, related_name="features"
    )
    epic = models.ForeignKey(
        "portfolio.Epic", on_delete=models.SET_NULL, null=True, blank=True, related_name="features"
    )
    key = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    program_increment = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.SET_NULL, null=True, blank=True, related_name="features"
    )
    iteration = models.ForeignKey(
        "cadence.Iteration",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="features",
        help_text="The iteration the train plans to finish it in.",
    )
    commitment = models.CharField(max_length=10, choices=Commitment.choices, default=Commitment.FORECAST)
    state = models.CharField(max_length=14, choices=WorkState.choices, default=WorkState.BACKLOG)
    done_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]
        # Lists are in key order, a page at a time: the index reads a page without sorting them all.
        indexes = [models.Index(fields=["key", "id"])]
        constraints = [
            models.UniqueConstraint(fields=["train", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(condition=Q(state__in=WorkState.values), name="%(app_label)s_%(class)s_state_valid"),
            models.CheckConstraint(
                condition=Q(commitment__in=Commitment.values), name="%(app_label)s_%(class)s_commitment_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=WorkState.DONE) | Q(done_on__isnull=True),
                name="%(app_label)s_%(class)s_done_on_only_when_done",
            ),
        ]

    def __str__(self):
        return f"{self.key} {self.name}"


class DependencyState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    COMMITTED = "committed", "Committed"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class DependencyFlag(models.TextChoices):
    NONE = "", "None"
    AT_RISK = "at_risk", "At risk"
    BLOCKED = "blocked", "Blocked"


class DependencyColour(models.TextChoices):
    """The planning-board colour of a dependency (see Dependency.colour)."""

    RED = "red", "Late"
    AMBER = "amber", "Same iteration"
    GREEN = "green", "On time"
    GREY = "grey", "No commitment"


# States in which a dependency is still to be delivered.
OPEN_DEPENDENCY_STATES = ("requested", "accepted", "committed")
# Worst first: how the map picks the colour of an edge that stands for several.
COLOUR_SEVERITY = {"red": 3, "amber": 2, "grey": 1, "green": 0}


def dependency_colour(state: str, committed_by, needed_by) -> str:
    """Planning-board colour: the provider's committed iteration against the consumer's
    needed-by iteration, by their end dates (trains may be on different cadences).
    Later = red, the same = amber, earlier = green, no commitment = grey. Delivered
    counts as green; declined and cancelled carry no commitment."""
    if state == "delivered":
        return DependencyColour.GREEN
    if state in ("cancelled", "declined") or committed_by is None:
        return DependencyColour.GREY
    if committed_by > needed_by:
        return DependencyColour.RED
    if committed_by == needed_by:
        return DependencyColour.AMBER
    return DependencyColour.GREEN


class DependencyQuerySet(models.QuerySet):
    def with_dates(self):
        """Annotate needed_by_date and committed_date: the end of the iteration (or PI)."""
        return self.annotate(
            needed_by_date=Coalesce("needed_by_iteration__end_date", "needed_by_pi__end_date"),
            committed_date=Coalesce("committed_iteration__end_date", "committed_pi__end_date"),
        )

    def open(self):
        return self.filter(state__in=OPEN_DEPENDENCY_STATES)

    def late(self, today):
        """Red (committed after it is needed) or needed-by date passed without delivery."""
        qs = self.with_dates().open()
        return qs.filter(Q(committed_date__gt=F("needed_by_date")) | Q(needed_by_date__lt=today))

    def cross_value_stream(self):
        return self.exclude(consumer__value_stream_id=F("provider__value_stream_id"))


class Dependency(VersionedModel):
    """One train (the consumer) needs something from another (the provider) by an
    iteration of a PI. It points at the consumer's feature that needs it and, once
    known, the provider's feature that delivers it."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="dependencies")
    key = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    consumer = models.ForeignKey(Train, on_delete=models.CASCADE, related_name="dependencies_needed")
    provider = models.ForeignKey(Train, on_delete=models.CASCADE, related_name="dependencies_given")
    needed_by_pi = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.PROTECT, related_name="dependencies_needed"
    )
    needed_by_iteration = models.ForeignKey(
        "cadence.Iteration", on_delete=models.PROTECT, null=True, blank=True, related_name="dependencies_needed"
    )
    committed_pi = models.ForeignKey(
        "cadence.ProgramIncrement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dependencies_committed",
    )
    committed_iteration = models.ForeignKey(
        "cadence.Iteration", on_delete=models.PROTECT, null=True, blank=True, related_name="dependencies_committed"
    )
    state = models.CharField(max_length=10, choices=DependencyState.choices, default=DependencyState.REQUESTED)
    flag = models.CharField(max_length=8, choices=DependencyFlag.choices, default=DependencyFlag.NONE, blank=True)
    flag_reason = models.TextField(blank=True)
    consumer_feature = models.ForeignKey(
        Feature, on_delete=models.SET_NULL, null=True, blank=True, related_name="dependencies_needed"
    )
    provider_feature = models.ForeignKey(
        Feature, on_delete=models.SET_NULL, null=True, blank=True, related_name="dependencies_delivered"
    )
    epic = models.ForeignKey(
        "portfolio.Epic", on_delete=models.SET_NULL, null=True, blank=True, related_name="dependencies"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="raised_dependencies"
    )
    delivered_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    objects = DependencyQuerySet.as_manager()

    class Meta:
        ordering = ["needed_by_pi__start_date", "key"]
        verbose_name_plural = "dependencies"
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(
                condition=~Q(provider=F("consumer")), name="%(app_label)s_%(class)s_provider_not_consumer"
            ),
            models.CheckConstraint(
                condition=Q(state__in=DependencyState.values), name="%(app_label)s_%(class)s_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(flag__in=DependencyFlag.values), name="%(app_label)s_%(class)s_flag_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=DependencyState.DELIVERED) | Q(delivered_on__isnull=True),
                name="%(app_label)s_%(class)s_delivered_on_only_when_delivered",
            ),
        ]
        indexes = [
            models.Index(fields=["portfolio", "state"]),
            models.Index(fields=["provider", "consumer"]),
        ]

    def __str__(self):
        return f"{self.key} {self.title}"

    @property
    def needed_by(self):
        """The date it is needed by: the end of the needed-by iteration, else of the PI."""
        return (self.needed_by_iteration or self.needed_by_pi).end_date

    @property
    def committed_by(self):
        if self.committed_iteration_id:
            return self.committed_iteration.end_date
        return self.committed_pi.end_date if self.committed_pi_id else None

    @property
    def is_cross_value_stream(self) -> bool:
        return self.consumer.value_stream_id != self.provider.value_stream_id

    @property
    def colour(self) -> str:
        return dependency_colour(self.state, self.committed_by, self.needed_by)

    def is_late_on(self, today) -> bool:
        """Late: red, or the needed-by date passed without delivery."""
        if self.state not in OPEN_DEPENDENCY_STATES:
            return False
        return self.colour == DependencyColour.RED or self.needed_by < today

    def clean(self):
        errors = {}
        if self.provider_id and self.provider_id == self.consumer_id:
            errors["provider"] = "A train cannot depend on itself: choose another provider."
        if self.needed_by_iteration_id and self.needed_by_pi_id:
            if self.needed_by_iteration.program_increment_id != self.needed_by_pi_id:
                errors["needed_by_iteration"] = "Choose an iteration of the needed-by PI."
        if self.committed_iteration_id and self.committed_pi_id:
            if self.committed_iteration.program_increment_id != self.committed_pi_id:
                errors["committed_iteration"] = "Choose an iteration of the committed PI."
        if errors:
            raise ValidationError(errors)


class DependencyEvent(models.Model):
    """One step of a dependency's workflow: who moved it from which state (or flag) to
    which, when, and why. Shown on the dependency's page."""

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="dependency_events"
    )
    at = models.DateTimeField()
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=10, choices=DependencyState.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=DependencyState.choices, blank=True)
    flag = models.CharField(max_length=8, choices=DependencyFlag.choices, blank=True)
    reason = models.TextField(blank=True)
    detail = models.CharField(max_length=200, blank=True, help_text="What the step set, e.g. the committed iteration.")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the other side was emailed.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dependency", "-at"])]

    def __str__(self):
        return f"{self.dependency.key}: {self.action} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
