"""The portfolio level: portfolios, memberships and roles, strategic themes, epics and
the epic Kanban's WIP limits."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast
from simple_history.models import HistoricalRecords

from portfolio.core.models import VersionedModel

# The modified Fibonacci scale of WSJF components.
WSJF_SCALE = (1, 2, 3, 5, 8, 13, 20)
WSJF_CHOICES = [(v, str(v)) for v in WSJF_SCALE]


class Terminology(models.TextChoices):
    PROGRAM_INCREMENT = "program_increment", "Program Increment (SAFe 5)"
    PLANNING_INTERVAL = "planning_interval", "Planning Interval (SAFe 6)"


class Portfolio(VersionedModel):
    """A set of value streams funded and governed together."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    cadence = models.ForeignKey(
        "cadence.Cadence", on_delete=models.PROTECT, null=True, blank=True, related_name="portfolios"
    )
    terminology = models.CharField(
        max_length=20,
        choices=Terminology.choices,
        default=Terminology.PROGRAM_INCREMENT,
        help_text="Which words the pages use for the PI and the planning board.",
    )
    status_stale_days = models.PositiveSmallIntegerField(
        default=7, help_text="A train status older than this many days is marked stale."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(terminology__in=Terminology.values), name="%(app_label)s_%(class)s_terminology_valid"
            ),
            models.CheckConstraint(
                condition=Q(status_stale_days__gte=1), name="%(app_label)s_%(class)s_stale_days_positive"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def words(self) -> dict[str, str]:
        """The PI vocabulary the pages show for this portfolio."""
        if self.terminology == Terminology.PLANNING_INTERVAL:
            return {"pi": "PI", "pi_long": "Planning Interval", "board": "ART planning board"}
        return {"pi": "PI", "pi_long": "Program Increment", "board": "program board"}


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    APMO = "apmo", "APMO"
    PORTFOLIO_MANAGER = "portfolio_manager", "Portfolio manager"
    ENTERPRISE_ARCHITECT = "enterprise_architect", "Enterprise architect"
    # A pipeline's service user: reads everything, posts integration results for any
    # point of the portfolio, posts status as its user only where a train role allows.
    AUTOMATION = "automation", "Automation (CI/CD pipeline)"


class Membership(VersionedModel):
    """A person's (or service user's) role in one portfolio. RTE and STE are train
    roles, held through ``valuestreams.Train.engineer`` on top of a membership."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=24, choices=Role.choices, default=Role.VIEWER)
    history = HistoricalRecords()

    class Meta:
        ordering = ["portfolio_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "portfolio"], name="%(app_label)s_%(class)s_one_per_portfolio"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="%(app_label)s_%(class)s_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} in {self.portfolio}"


class StrategicTheme(VersionedModel):
    """A business objective that connects the portfolio to the enterprise's strategy."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="strategic_themes")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "name"], name="%(app_label)s_%(class)s_unique_name"),
        ]

    def __str__(self):
        return self.name


class EpicState(models.TextChoices):
    FUNNEL = "funnel", "Funnel"
    REVIEWING = "reviewing", "Reviewing"
    ANALYZING = "analyzing", "Analyzing"
    PORTFOLIO_BACKLOG = "portfolio_backlog", "Portfolio backlog"
    IMPLEMENTING = "implementing", "Implementing"
    DONE = "done", "Done"


# Columns of the epic Kanban that carry a WIP limit (the funnel and done do not).
WIP_LIMITED_STATES = (EpicState.REVIEWING, EpicState.ANALYZING, EpicState.PORTFOLIO_BACKLOG, EpicState.IMPLEMENTING)
# States in which an epic counts as ready for intake into a PI.
INTAKE_READY_STATES = (EpicState.PORTFOLIO_BACKLOG, EpicState.IMPLEMENTING, EpicState.DONE)


class EpicKind(models.TextChoices):
    BUSINESS = "business", "Business"
    ENABLER = "enabler", "Enabler"


def _wsjf_expression():
    cost_of_delay = F("business_value") + F("time_criticality") + F("risk_reduction")
    return Cast(cost_of_delay, models.FloatField()) / Cast(F("job_size"), models.FloatField())


class Epic(VersionedModel):
    """A large portfolio initiative, prioritised by WSJF and flowing through the Kanban.

    WSJF = cost of delay / job size, with cost of delay = user-business value + time
    criticality + risk reduction & opportunity enablement; the database computes it.
    The value streams an epic touches are linked from ``valuestreams.ValueStream.epics``.
    """

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="epics")
    key = models.CharField(max_length=20, help_text="Short reference, e.g. EP-101.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=EpicKind.choices, default=EpicKind.BUSINESS)
    state = models.CharField(max_length=20, choices=EpicState.choices, default=EpicState.FUNNEL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_epics"
    )
    themes = models.ManyToManyField(StrategicTheme, blank=True, related_name="epics")
    target_pi = models.ForeignKey(
        "cadence.ProgramIncrement", on_delete=models.SET_NULL, null=True, blank=True, related_name="target_epics"
    )
    business_value = models.PositiveSmallIntegerField(choices=WSJF_CHOICES, default=1)
    time_criticality = models.PositiveSmallIntegerField(choices=WSJF_CHOICES, default=1)
    risk_reduction = models.PositiveSmallIntegerField(
        choices=WSJF_CHOICES, default=1, verbose_name="risk reduction & opportunity enablement"
    )
    job_size = models.PositiveSmallIntegerField(choices=WSJF_CHOICES, default=1)
    wsjf = models.GeneratedField(
        expression=_wsjf_expression(), output_field=models.FloatField(), db_persist=True, verbose_name="WSJF"
    )
    mvp_hypothesis = models.TextField(blank=True, help_text="The epic hypothesis statement and its MVP.")
    state_changed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["wsjf"])

    class Meta:
        ordering = ["-wsjf", "key"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(condition=Q(state__in=EpicState.values), name="%(app_label)s_%(class)s_state_valid"),
            models.CheckConstraint(condition=Q(kind__in=EpicKind.values), name="%(app_label)s_%(class)s_kind_valid"),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{component}__in": WSJF_SCALE}),
                    name=f"%(app_label)s_%(class)s_{component}_on_scale",
                )
                for component in ("business_value", "time_criticality", "risk_reduction", "job_size")
            ],
        ]
        indexes = [models.Index(fields=["portfolio", "state", "-wsjf"])]

    def __str__(self):
        return f"{self.key} {self.title}"

    @property
    def cost_of_delay(self) -> int:
        return self.business_value + self.time_criticality + self.risk_reduction

    @property
    def is_ready_for_intake(self) -> bool:
        return self.state in INTAKE_READY_STATES and bool(self.mvp_hypothesis.strip())

    def clean(self):
        for component in ("business_value", "time_criticality", "risk_reduction", "job_size"):
            if getattr(self, component) not in WSJF_SCALE:
                raise ValidationError({component: f"Use one of {', '.join(map(str, WSJF_SCALE))}."})


class WipLimit(VersionedModel):
    """The WIP limit of one column of a portfolio's epic Kanban."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="wip_limits")
    state = models.CharField(max_length=20, choices=[(s.value, s.label) for s in WIP_LIMITED_STATES])
    limit = models.PositiveSmallIntegerField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["portfolio_id", "state"]
        verbose_name = "WIP limit"
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "state"], name="%(app_label)s_%(class)s_one_per_column"),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in WIP_LIMITED_STATES]),
                name="%(app_label)s_%(class)s_limited_column_only",
            ),
            models.CheckConstraint(condition=Q(limit__gte=1), name="%(app_label)s_%(class)s_limit_positive"),
        ]

    def __str__(self):
        return f"{self.get_state_display()}: {self.limit}"


class EpicDeferral(models.Model):
    """Cadence-gated intake at work: an epic that was not ready at the intake cutoff of
    the PI it targeted, moved on to a later PI of the same cadence.

    Written by the daily intake task (``portfolio.services.apply_intake_cutoffs``), once
    per epic and PI: the unique constraint keeps a retried or concurrent run from
    recording (and mailing) a deferral twice.
    """

    epic = models.ForeignKey(Epic, on_delete=models.CASCADE, related_name="deferrals")
    from_pi = models.ForeignKey(
        "cadence.ProgramIncrement",
        on_delete=models.CASCADE,
        related_name="deferrals_from",
        verbose_name="from PI",
        help_text="The PI the epic targeted and missed the intake cutoff of.",
    )
    to_pi = models.ForeignKey(
        "cadence.ProgramIncrement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deferrals_to",
        verbose_name="to PI",
        help_text="The PI the epic now targets; empty when the cadence has no later PI open for intake.",
    )
    cutoff = models.DateField(help_text="The intake cutoff the epic was not ready by.")
    reason = models.TextField(help_text="What the epic was missing at the cutoff.")
    deferred_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the epic's owner was emailed.")

    class Meta:
        ordering = ["-deferred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["epic", "from_pi"], name="%(app_label)s_%(class)s_once_per_epic_and_pi"),
            models.CheckConstraint(condition=~Q(to_pi=F("from_pi")), name="%(app_label)s_%(class)s_to_another_pi"),
        ]

    def __str__(self):
        return f"{self.epic.key} deferred from {self.from_pi}"
