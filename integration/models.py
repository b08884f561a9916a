"""Integration points, their scheduled checks and results, and portfolio releases."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from portfolio.core.models import VersionedModel


class Depth(models.TextChoices):
    PARTIAL = "partial", "Partial"
    FULL = "full", "Full"


class Outcome(models.TextChoices):
    """What the latest check (or the recorded result) says of an integration point."""

    PENDING = "pending", "Not checked yet"
    READY = "ready", "Ready"
    AT_RISK = "at_risk", "At risk"
    NOT_READY = "not_ready", "Not ready"
    MISSED = "missed", "Missed"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class IntegrationPoint(VersionedModel):
    """A dated point in the cadence where the work of several trains or value streams is
    integrated and shown working, fully or partially."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="integration_points")
    name = models.CharField(max_length=160)
    date = models.DateField()
    program_increment = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.PROTECT, related_name="integration_points"
    )
    depth = models.CharField(max_length=8, choices=Depth.choices, default=Depth.PARTIAL)
    solution_train = models.ForeignKey(
        "valuestreams.Train",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_integration_points",
        help_text="The solution train whose STE manages this point, if any.",
    )
    value_streams = models.ManyToManyField("valuestreams.ValueStream", blank=True, related_name="integration_points")
    trains = models.ManyToManyField("valuestreams.Train", blank=True, related_name="integration_points")
    dependencies = models.ManyToManyField("valuestreams.Dependency", blank=True, related_name="integration_points")
    features = models.ManyToManyField("valuestreams.Feature", blank=True, related_name="integration_points")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.CheckConstraint(condition=Q(depth__in=Depth.values), name="%(app_label)s_%(class)s_depth_valid"),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="%(app_label)s_%(class)s_outcome_valid"
            ),
        ]
        indexes = [models.Index(fields=["portfolio", "date"])]

    def __str__(self):
        return self.name


class AcceptanceCriterion(VersionedModel):
    """One item of an integration point's acceptance checklist."""

    integration_point = models.ForeignKey(IntegrationPoint, on_delete=models.CASCADE, related_name="criteria")
    text = models.CharField(max_length=300)
    met = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["integration_point_id", "position", "id"]
        verbose_name_plural = "acceptance criteria"

    def __str__(self):
        return self.text


class IntegrationCheckRun(models.Model):
    """The findings of one scheduled check of an integration point. There is one run per
    point and check window (the schedule interval it belongs to), so two workers or a
    retried task record one result."""

    integration_point = models.ForeignKey(IntegrationPoint, on_delete=models.CASCADE, related_name="check_runs")
    window_start = models.DateTimeField(help_text="Start of the schedule interval this run belongs to.")
    ran_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    findings = models.JSONField(default=list, blank=True)
    # Counted from ``findings`` when the run is recorded (a run never changes), so that a
    # list of points says "4 findings, 1 blocking" without reading every run's findings.
    finding_count = models.PositiveIntegerField(default=0, editable=False)
    blocking_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-window_start"]
        get_latest_by = "window_start"
        constraints = [
            models.UniqueConstraint(
                fields=["integration_point", "window_start"], name="%(app_label)s_%(class)s_one_per_window"
            ),
            models.CheckConstraint(
                condition=Q(blocking_count__lte=models.F("finding_count")),
                name="%(app_label)s_%(class)s_blocking_among_findings",
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="%(app_label)s_%(class)s_outcome_valid"
            ),
        ]

    def __str__(self):
        return f"{self.integration_point} · {self.window_start:%Y-%m-%d %H:%M} · {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        self.count_findings()
        super().save(*args, **kwargs)

    @classmethod
    def recording(cls, *, findings: list[dict], **fields) -> "IntegrationCheckRun":
        """A run to be saved (or bulk-created) with its findings counted."""
        run = cls(findings=findings, **fields)
        run.count_findings()
        return run

    def count_findings(self) -> None:
        self.finding_count = len(self.findings)
        self.blocking_count = sum(1 for finding in self.findings if finding.get("severity") == "blocking")


class ResultVerdict(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"


class IntegrationResult(models.Model):
    """A pass or fail recorded for an integration point by a person or a pipeline. A
    pipeline sends an idempotency key, so a retried request records once."""

    integration_point = models.ForeignKey(IntegrationPoint, on_delete=models.CASCADE, related_name="results")
    verdict = models.CharField(max_length=4, choices=ResultVerdict.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="integration_results"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=120, blank=True)
    source_url = models.URLField(blank=True, help_text="Link to the pipeline run, if any.")

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration_point", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="%(app_label)s_%(class)s_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=ResultVerdict.values), name="%(app_label)s_%(class)s_verdict_valid"
            ),
        ]

    def __str__(self):
        return f"{self.integration_point} · {self.get_verdict_display()}"


class IntegrationOutcomeChange(models.Model):
    """One change of an integration point's outcome, made by a scheduled check or by a
    recorded result. The audit trail of outcomes (the checks write outcomes in bulk, past
    the point's own history), and what the participants are emailed about, once each."""

    integration_point = models.ForeignKey(IntegrationPoint, on_delete=models.CASCADE, related_name="outcome_changes")
    from_outcome = models.CharField(max_length=10, choices=Outcome.choices)
    to_outcome = models.CharField(max_length=10, choices=Outcome.choices)
    changed_at = models.DateTimeField()
    check_run = models.ForeignKey(
        IntegrationCheckRun, on_delete=models.CASCADE, null=True, blank=True, related_name="outcome_changes"
    )
    result = models.ForeignKey(
        IntegrationResult, on_delete=models.CASCADE, null=True, blank=True, related_name="outcome_changes"
    )
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the participants were emailed.")

    class Meta:
        ordering = ["-changed_at", "-id"]
        get_latest_by = "changed_at"
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_outcome=models.F("to_outcome")), name="%(app_label)s_%(class)s_is_a_change"
            ),
        ]
        indexes = [models.Index(fields=["integration_point", "-changed_at"])]

    def __str__(self):
        return f"{self.integration_point}: {self.get_from_outcome_display()} → {self.get_to_outcome_display()}"


class Release(VersionedModel):
    """A portfolio-level release that integrates the work of several value streams,
    gated on integration points passing."""

    portfolio = models.ForeignKey("portfolio.Portfolio", on_delete=models.CASCADE, related_name="releases")
    name = models.CharField(max_length=160)
    date = models.DateField()
    description = models.TextField(blank=True)
    value_streams = models.ManyToManyField("valuestreams.ValueStream", blank=True, related_name="releases")
    integration_points = models.ManyToManyField(IntegrationPoint, blank=True, related_name="releases")
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="%(app_label)s_%(class)s_unique_name"),
        ]

    def __str__(self):
        return self.name


class IntegrationEconomics(VersionedModel):
    """The cost figures a value stream's APMO judges for its integration cadence: what one
    integration costs (the transaction cost) and what a day of deferred integration
    costs (the holding cost per day). Both in one ``unit``; they place the minimum of the
    total-cost U-curve (see ``integration.economics``)."""

    value_stream = models.OneToOneField(
        "valuestreams.ValueStream", on_delete=models.CASCADE, related_name="integration_economics"
    )
    transaction_cost = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="The cost of one integration: effort, environments, automation."
    )
    holding_cost_per_day = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        help_text="The cost of deferring integration by one day: deferred learning, possible rework.",
    )
    unit = models.CharField(max_length=20, default="person-days", help_text="The unit of both costs.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "integration economics"
        constraints = [
            models.CheckConstraint(
                condition=Q(transaction_cost__gt=0), name="%(app_label)s_%(class)s_transaction_cost_positive"
            ),
            models.CheckConstraint(
                condition=Q(holding_cost_per_day__gt=0), name="%(app_label)s_%(class)s_holding_cost_positive"
            ),
        ]

    def __str__(self):
        return f"Integration economics of {self.value_stream}"
