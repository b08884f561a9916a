"""The deterministic demo portfolio: ``build_demo`` and its size presets.

A fictional bank, Northwind Bank, runs its change portfolio through Tributary: value
streams, solution trains and ARTs with their teams, epics with WSJF, capabilities and
features placed on PIs, dependencies between trains (many across value streams),
weekly train status, integration points, releases and milestones.

Everything random comes from one ``random.Random(seed)``, and every date from
``today``: the same seed and the same day give the same names, keys and values. The
calendar sits on a fixed grid of 70-day PIs starting on Mondays, so the PI holding the
Monday of ``today``'s week is always the fourth of twelve (three behind, eight ahead).

Rows are written with ``bulk_create`` and their audit history rows in bulk beside
them: the large size (24,000 features, 90,000 rows in all) loads in about 7 s on
SQLite or PostgreSQL.

This module wires the apps together (like settings and root urls), so it may import
from every app; nothing in the apps imports it.
"""

import datetime
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from cadence.models import Cadence, CadenceEvent, CadenceEventKind, Iteration, ProgramIncrement
from integration.models import (
    AcceptanceCriterion,
    Depth,
    IntegrationPoint,
    IntegrationResult,
    Outcome,
    Release,
    ResultVerdict,
)
from portfolio.core.models import VersionedModel
from portfolio.models import (
    WIP_LIMITED_STATES,
    WSJF_SCALE,
    Epic,
    EpicKind,
    EpicState,
    Membership,
    Portfolio,
    Role,
    StrategicTheme,
    WipLimit,
)
from roadmap.models import Milestone, MilestoneKind
from valuestreams.models import (
    Capability,
    Commitment,
    Dependency,
    DependencyFlag,
    DependencyState,
    Feature,
    Health,
    StatusReport,
    Team,
    TeamKind,
    Train,
    TrainKind,
    ValueStream,
    WorkState,
)

User = get_user_model()

DEMO_PASSWORD = "tributary-demo"  # noqa: S105 (public: printed with the demo logins)
HISTORY_REASON = "Demo data loaded by seed_demo"
BATCH_SIZE = 1000

# --- sizes -------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSize:
    """How much of everything one demo size holds."""

    value_streams: int
    solution_trains: int
    arts: int
    teams: int
    shared_services: int
    themes: int
    epics: int
    active_epics: int  # epics in reviewing, analyzing, portfolio backlog or implementing
    capabilities: int
    features: int
    dependencies: int
    program_increments: int
    integration_points: int
    status_weeks: int
    learning_milestones: int


SIZES = {
    "small": DemoSize(
        value_streams=3,
        solution_trains=1,
        arts=6,
        teams=40,
        shared_services=2,
        themes=5,
        epics=60,
        active_epics=15,
        capabilities=100,
        features=600,
        dependencies=80,
        program_increments=12,
        integration_points=24,
        status_weeks=26,
        learning_milestones=6,
    ),
    # A fifth of large on every count that grows with the portfolio (SCALED_COUNTS).
    # Value streams and solution trains stay at least those of small, so that a
    # query-count test on medium still has more of every kind of row than on small.
    "medium": DemoSize(
        value_streams=4,
        solution_trains=1,
        arts=8,
        teams=80,
        shared_services=2,
        themes=6,
        epics=300,
        active_epics=60,
        capabilities=800,
        features=4800,
        dependencies=1200,
        program_increments=12,
        integration_points=60,
        status_weeks=104,
        learning_milestones=12,
    ),
    # The benchmark size of DESIGN.md ("Performance budget").
    "large": DemoSize(
        value_streams=8,
        solution_trains=3,
        arts=40,
        teams=400,
        shared_services=4,
        themes=8,
        epics=1500,
        active_epics=300,
        capabilities=4000,
        features=24000,
        dependencies=6000,
        program_increments=12,
        integration_points=300,
        status_weeks=104,
        learning_milestones=60,
    ),
}
SCALED_COUNTS = (
    "arts",
    "teams",
    "epics",
    "active_epics",
    "capabilities",
    "features",
    "dependencies",
    "integration_points",
    "learning_milestones",
)

# --- calendar ----------------------------------------------------------------------

# Every demo cadence lays its PIs on one grid of 70-day PIs from this Monday, so a
# demo loaded on another day of the same PI has the same PIs.
PI_GRID_EPOCH = datetime.date(2024, 1, 1)
ITERATIONS_PER_PI = 5
ITERATION_DAYS = 14
PI_DAYS = ITERATIONS_PER_PI * ITERATION_DAYS
CURRENT_PI_INDEX = 3
INTAKE_CUTOFF_DAYS = 14
OFFSET_CADENCE_DAYS = 3  # the one train off the portfolio cadence starts its PIs on Thursdays

# --- names ---------------------------------------------------------------------------
# Pools of names are written as "; "-separated strings to keep them compact.


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


@dataclass(frozen=True)
class _StreamNames:
    name: str
    key: str
    description: str
    solution_train: str  # "Name KEY"
    arts: str  # "Short name KEY; ..."
    topics: str  # what its epics and features are about
    customers: str

    @property
    def art_names(self) -> list[tuple[str, str]]:
        return [tuple(item.rsplit(" ", 1)) for item in _split(self.arts)]

    @property
    def solution_train_name(self) -> tuple[str, str]:
        return tuple(self.solution_train.rsplit(" ", 1))


VALUE_STREAMS = [
    _StreamNames(
        "Card Payments",
        "CARD",
        "Issuing, authorising and acquiring card payments for retail and business customers.",
        "Card Platform Solution Train CPS",
        "Card Issuing CIA; Merchant Acquiring MAQ; Payment Gateway PGW; Card Disputes CDS; "
        "Tokenisation & Wallets TKW; Card Rewards CRW; Card Authorisation CAU",
        "card issuing; chargebacks; merchant onboarding; 3-D Secure authentication; card controls; "
        "virtual cards; tokenised wallets; card rewards; contactless payments; instalment plans",
        "cardholders; merchants",
    ),
    _StreamNames(
        "Lending",
        "LEND",
        "Mortgages, personal and business loans from application to final repayment.",
        "Lending Solution Train LNS",
        "Loan Origination LOA; Credit Decisioning CRD; Mortgage Servicing MTS; Collections & Recoveries COL; "
        "SME Lending SME; Auto Finance AUF; Buy Now Pay Later BNP",
        "mortgage applications; credit decisioning; loan servicing; collateral valuation; affordability checks; "
        "SME credit lines; payment holidays; early repayment quotes; auto finance; debt consolidation",
        "home buyers; small businesses",
    ),
    _StreamNames(
        "Digital Banking",
        "DIGI",
        "The mobile app, web banking and open banking APIs through which customers bank every day.",
        "Digital Channels Solution Train DCS",
        "Mobile App MOB; Web Banking WEB; Open Banking APIs OBA; Customer Messaging MSG; Personal Finance PFM; "
        "Digital Sales DSL; Branch & Contact Centre BCC",
        "mobile onboarding; push notifications; savings goals; spending insights; account switching; "
        "in-app chat; biometric login; bill payments; standing orders; joint accounts",
        "mobile customers; young savers",
    ),
    _StreamNames(
        "Wealth Management",
        "WLTH",
        "Advice, investing and pensions for private and premium clients.",
        "Wealth Solution Train WLS",
        "Advisory Platform ADV; Trading & Execution TRX; Portfolio Analytics PAN; Pensions PEN; "
        "Custody & Settlement CUS; Wealth Onboarding WON; Tax Reporting TAX",
        "portfolio rebalancing; robo-advice; fund trading; pension transfers; ESG reporting; client suitability; "
        "tax reporting; custody statements; model portfolios; adviser dashboards",
        "premium clients; financial advisers",
    ),
    _StreamNames(
        "Fraud & Risk",
        "RISK",
        "Keeping customers and the bank safe: fraud, financial crime, credit and regulatory risk.",
        "Risk Solution Train RKS",
        "Fraud Detection FRD; AML & Sanctions AML; Credit Risk Models CRM; Regulatory Reporting REG; "
        "Operational Risk OPR; Scam Prevention SCP; Risk Data RSD",
        "fraud scoring; AML screening; sanctions checks; transaction monitoring; scam warnings; "
        "credit risk models; regulatory reporting; mule account detection; stress testing; case management",
        "fraud analysts; compliance officers",
    ),
    _StreamNames(
        "Core Ledger",
        "LEDG",
        "Accounts, balances, postings, interest and the general ledger every product relies on.",
        "Core Banking Solution Train CBS",
        "General Ledger GLD; Payments Clearing PCL; Accounts & Balances ACB; Interest & Fees INF; Statements STM; "
        "Reconciliation REC; Core Migration CMG",
        "ledger postings; interest accrual; fee calculation; end-of-day batch; account balances; "
        "statement generation; payment clearing; reconciliation; multi-currency accounts; general ledger feeds",
        "finance teams; operations staff",
    ),
    _StreamNames(
        "Customer Onboarding",
        "ONBD",
        "Becoming a customer: identity, KYC, account opening and consent.",
        "Onboarding Solution Train OBS",
        "KYC & Identity KYC; Account Opening ACO; Customer Profile CPR; Consent & Preferences CNS; "
        "Business Onboarding BON; Document Capture DOC; Onboarding Analytics ONA",
        "identity verification; KYC refresh; document capture; consent management; customer profiles; "
        "business onboarding; address validation; digital signatures; proof of income; onboarding analytics",
        "new customers; business founders",
    ),
    _StreamNames(
        "Data Platform",
        "DATA",
        "Shared data, events and machine learning for every value stream.",
        "Data Solution Train DTS",
        "Data Lake DLK; Event Streaming EVS; Analytics & BI ABI; ML Platform MLP; Master Data MDM; "
        "Data Governance DGV; Customer 360 C36",
        "customer 360 data; event streaming; data quality; master data; the feature store; "
        "self-service analytics; data lineage; regulatory data marts; the ML platform; data retention",
        "data scientists; product analysts",
    ),
]
# How many of the ARTs each value stream gets, relative to the others.
VALUE_STREAM_WEIGHTS = (1.4, 1.2, 1.0, 1.0, 1.0, 0.8, 0.8, 0.8)

TEAM_NICKNAMES = _split(
    "Falcons; Kestrels; Ospreys; Herons; Otters; Badgers; Lynx; Orion; Vega; Nova; Pulsar; Quasar; "
    "Atlas; Comet; Meteor; Aurora; Zephyr; Tundra; Sierra; Delta; Fjord; Glacier; Summit; Harbour"
)
SHARED_SERVICES = _split(
    "Security Engineering; Cloud Platform Services; UX & Design System; Architecture Runway; "
    "Test Data Management; Release Engineering"
)
THEMES = [
    ("Grow digital share of wallet", "Win more of each customer's banking through the app and the web."),
    ("Real-time everything", "Balances, payments and decisions in seconds, not overnight batches."),
    ("Trusted and compliant by design", "Meet every regulatory deadline and keep fraud losses falling."),
    ("Cloud-native core banking", "Move the core off the mainframe onto scalable cloud services."),
    ("Data-driven decisions", "One trusted source of data for products, risk and finance."),
    ("Frictionless onboarding", "Open an account or a loan in minutes, fully digitally."),
    ("Sustainable finance", "Green products and transparent ESG reporting for our clients."),
    ("Cost to serve down 20%", "Automate manual back-office work across the value streams."),
]
# {t}: a topic of the value stream; {T}: the same, capitalised.
BUSINESS_TITLES = _split(
    "Real-time {t}; Self-service {t}; Instant {t}; Mobile-first {t}; Personalised {t}; Automated {t}; "
    "Paperless {t}; Omnichannel {t}; AI-assisted {t}; Straight-through {t}; {T} for SMEs; "
    "{T} in the mobile app; Open API for {t}; {T} for premium customers"
)
ENABLER_TITLES = _split(
    "Cloud migration of {t}; Event streaming for {t}; Decommission the legacy {t} platform; "
    "Observability for {t}; Zero-trust access to {t}; API gateway for {t}; Data contracts for {t}; "
    "Automated regression testing of {t}; Resilience testing of {t}; Containerise {t} services"
)
HYPOTHESIS_NEEDS = _split(
    "want to act without calling us; expect answers in seconds, not days; leave us over slow digital service; "
    "face more fraud attempts every year; spend hours on manual paperwork; need one view across all their products"
)
HYPOTHESIS_BENEFITS = _split(
    "cut handling time by 40%; lift conversion by ten points; halve manual reviews; "
    "remove a day from the end-to-end journey; reduce operational losses by a quarter; grow active usage by 15%"
)
HYPOTHESIS_INDICATORS = _split(
    "weekly active users of the journey grow 15% within two PIs; manual case volume falls by 30%; "
    "journey NPS rises by eight points; the straight-through rate exceeds 85%; incident count for the flow halves; "
    "time to decision drops below one minute"
)
HYPOTHESIS_MVPS = _split(
    "one product, one country, 5% of new customers; a pilot with 200 staff users; "
    "a read-only view behind a feature flag; one partner integration in the sandbox; "
    "the happy path only, with manual fallback"
)
CAPABILITY_ASPECTS = _split(
    "customer journey; back-office workflow; API layer; reporting; rules engine; notifications; data migration; "
    "pilot rollout; regulatory controls; partner integration"
)
FEATURE_TEMPLATES = _split(
    "Add {t} to the mobile app; Expose {t} through the public API; Validation rules for {t}; Audit trail for {t}; "
    "Notify customers about {t}; Overnight reconciliation of {t}; Export reports on {t}; Migrate historic {t} data; "
    "Retry failed {t} requests; Operations dashboard for {t}; Performance tuning of {t}; "
    "Accessibility fixes in {t}; Localise {t} for Germany; Feature-flag rollout of {t}; Load test {t}; "
    "Error handling in {t}; Back-office view of {t}; Limits and thresholds for {t}; "
    "Self-service changes to {t}; Publish events for {t}"
)
DEPENDENCY_NEEDS = _split(
    "Real-time balance API; Customer risk score event; Merchant settlement file; KYC status webhook; "
    "Production-like test data; Open banking gateway sandbox; Ledger posting interface v2; "
    "Fraud decision callback; Card token lookup endpoint; Consent check API; Customer profile change events; "
    "Statement rendering service; Interest calculation library upgrade; Staff tools single sign-on; "
    "Schema change in the customer master; Notification templates; Credit limit API; "
    "Sanctions screening batch endpoint; Model feature store access; Reconciliation report extract"
)
AT_RISK_REASONS = [
    "Provider capacity is committed to a regulatory deadline this PI.",
    "The interface contract is still under review by both trains.",
    "The shared test environment is booked until the next iteration.",
    "Key engineer on leave; the provider is replanning the work.",
]
BLOCKED_REASONS = [
    "Waiting on security sign-off for the new endpoint.",
    "Vendor API change postponed; no new date yet.",
    "Shared test environment down since last week.",
    "Funding for the provider's work is not approved yet.",
]
SUMMARIES = {
    Health.ON_TRACK: [
        "Iteration goals met; the system demo was accepted by the business owners.",
        "On plan for the PI objectives; no escaped defects this week.",
        "Velocity stable and all committed dependencies on schedule.",
        "Feature flow steady; the integration build is green.",
    ],
    Health.AT_RISK: [
        "Two features are slipping by an iteration; replanning with product management.",
        "Environment instability slowed integration testing this week.",
        "Waiting on a provider dependency; mitigation agreed at the ART sync.",
        "Unplanned production support took a third of the capacity.",
    ],
    Health.OFF_TRACK: [
        "A PI objective will be missed; escalated to the solution train.",
        "A critical dependency is blocked and the release candidate is on hold.",
        "Capacity down by two teams; the PI plan needs a reset.",
    ],
}
RISKS = _split(
    "Regulatory deadline leaves no slack in the last iteration.; Single point of knowledge on the legacy interface.; "
    "Performance of the new API unproven at peak load.; Vendor release date not confirmed."
)
BLOCKERS = _split(
    "Test environment unavailable.; Waiting on firewall changes from infrastructure.; "
    "Provider train has not committed the API yet."
)
CRITERIA = _split(
    "End-to-end test suite green in the staging environment; Consumer contract tests pass for every API involved; "
    "No open severity-1 or severity-2 defects; p95 response time under 300 ms at the expected peak load; "
    "Security scan shows no high findings; Business owners sign off at the system demo; "
    "Data reconciliation matches to the cent; Runbook updated and reviewed by operations"
)
REGULATORY_MILESTONES = [
    ("PSD3 readiness deadline", "Strong customer authentication and open banking changes must be live."),
    ("DORA register of information due", "The register of ICT third-party arrangements is filed with the regulator."),
    ("Basel 3.1 go-live", "New capital calculations in production for the first reporting period."),
    ("Card scheme click-to-pay mandate", "Click-to-pay must be offered on every online checkout."),
    ("Annual stress test submission", "Stress test results submitted to the supervisor."),
]
RELEASE_NAMES = _split("Danube; Rhine; Elbe; Loire; Tagus; Vistula; Thames; Severn; Shannon; Douro; Oder; Ebro; Seine")
FIRST_NAMES = _split(
    "Amara; Ben; Chloe; Dev; Elena; Farid; Grace; Hugo; Ines; Jonas; Kemi; Lars; Maya; Nils; Olga; Pedro; "
    "Quinn; Rosa; Sami; Tara; Umar; Vera; Wen; Yusuf; Zoe"
)
LAST_NAMES = _split(
    "Adeyemi; Berg; Costa; Dubois; Eriksen; Fischer; Gupta; Hansen; Ivanova; Jansen; Kowalski; Lindqvist; "
    "Moreau; Novak; O'Neill; Patel; Rossi; Schmidt; Tanaka; Vargas; Weber; Yilmaz"
)
WSJF_WEIGHTS = (3, 5, 6, 6, 5, 3, 1)  # how often each value of WSJF_SCALE is drawn
# (users key, username without prefix, role, first name, last name)
DEMO_USERS = [
    ("apmo", "apmo", Role.APMO, "Alex", "Morgan"),
    ("portfolio_manager", "portfolio-manager", Role.PORTFOLIO_MANAGER, "Priya", "Shah"),
    ("enterprise_architect", "architect", Role.ENTERPRISE_ARCHITECT, "Erik", "Lund"),
    ("viewer", "viewer", Role.VIEWER, "Val", "Viewer"),
    ("rte", "rte", Role.VIEWER, "Rita", "Engel"),
    ("other_rte", "other-rte", Role.VIEWER, "Omar", "Reyes"),
    ("ste", "ste", Role.VIEWER, "Sofia", "Tran"),
    ("automation", "ci-pipeline", Role.AUTOMATION, "CI", "Pipeline"),
]


@dataclass
class Demo:
    portfolio: Portfolio
    users: dict[str, User]  # keys: the first column of DEMO_USERS
    counts: dict[str, int]  # rows created per model name


def demo_usernames(user_prefix: str = "") -> dict[str, str]:
    """{users key: username} of the fixed demo logins."""
    return {key: f"{user_prefix}{name}" for key, name, *_ in DEMO_USERS}


def portfolio_name_for(slug: str) -> str:
    return "Northwind Bank" if slug == "demo" else f"Northwind Bank ({slug})"


def build_demo(
    *,
    size: str,
    seed: int = 1,
    today: datetime.date | None = None,
    slug: str = "demo",
    user_prefix: str = "",
    stdout=None,
) -> Demo:
    """Load (or replace) the demo portfolio ``slug`` of the given size, in one transaction."""
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}: use one of {', '.join(SIZES)}.")
    builder = _DemoBuilder(
        size=SIZES[size],
        seed=seed,
        today=today or timezone.localdate(),
        slug=slug,
        user_prefix=user_prefix,
        stdout=stdout,
    )
    with transaction.atomic():
        return builder.build()


# --- helpers -------------------------------------------------------------------------


@cache
def _demo_password_hash() -> str:
    # Hashing is deliberately slow: hash once per process, reuse for every demo user.
    return make_password(DEMO_PASSWORD)


def _apportion(total: int, weights) -> list[int]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainder)."""
    weights = list(weights)
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    parts = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _at(day: datetime.date, hour: int = 9, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=datetime.UTC)


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def _pi_name(grid_start: datetime.date) -> str:
    """The PI's name, e.g. PI 26.4: the year and the PI's ordinal among the grid's PIs starting that year."""
    first_of_year = (datetime.date(grid_start.year, 1, 1) - PI_GRID_EPOCH).days
    first_index = -(-first_of_year // PI_DAYS)  # ceiling division
    index = (grid_start - PI_GRID_EPOCH).days // PI_DAYS
    return f"PI {grid_start.year % 100:02d}.{index - first_index + 1}"


def _history_model(model):
    try:
        return get_history_model_for_model(model)
    except NotHistoricalModelError:
        return None


class _Writer:
    """Bulk inserts with their audit history rows, timestamps taken from the demo's clock."""

    def __init__(self, *, stamp: datetime.datetime):
        self.stamp = stamp
        self.counts = Counter()
        self._tracked = {}

    def create(self, model, objs):
        objs = list(objs)
        if not objs:
            return objs
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        self.counts[model.__name__] += len(objs)
        if issubclass(model, VersionedModel):
            # auto_now_add wins over a value set before the insert: set the demo's own.
            for chunk in _chunks([obj.pk for obj in objs], 900):
                model.objects.filter(pk__in=chunk).update(created_at=self.stamp, updated_at=self.stamp)
            for obj in objs:
                obj.created_at = obj.updated_at = self.stamp
        self.history(model, objs, "+")
        return objs

    def history(self, model, objs, history_type: str, *, date=None):
        history_model = _history_model(model)
        if history_model is None or not objs:
            return
        attnames = self._tracked.get(history_model)
        if attnames is None:
            attnames = self._tracked[history_model] = [f.attname for f in history_model.tracked_fields]
        date = date or self.stamp
        rows = [
            history_model(
                history_date=date,
                history_type=history_type,
                history_user=None,
                history_change_reason=HISTORY_REASON,
                **{name: getattr(obj, name) for name in attnames},
            )
            for obj in objs
        ]
        history_model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        self.counts[history_model.__name__] += len(rows)

    def link(self, model, field_name: str, pairs):
        """Bulk-insert rows of the many-to-many ``model.field_name`` from (source, target) pairs."""
        field = model._meta.get_field(field_name)
        through = field.remote_field.through
        source, target = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
        rows = [through(**{source: a.pk, target: b.pk}) for a, b in dict.fromkeys(pairs)]
        through.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        self.counts[through.__name__] += len(rows)


@dataclass(eq=False)
class _TrainPlan:
    """A train being built, with what the generator needs to know about it."""

    obj: Train
    short: str
    vs: int  # index of its value stream
    solution: "_TrainPlan | None" = None
    cadence: int = 0  # 0: the portfolio's cadence, 1: the offset cadence
    agile_teams: int = 0
    arts: list = field(default_factory=list)  # of a solution train: its ARTs


@dataclass(eq=False)
class _EpicPlan:
    obj: Epic
    value_streams: list  # indexes, the primary first
    topic: str  # what it is about; its capabilities and features are about the same


@dataclass(eq=False)
class _DependencyPlan:
    obj: Dependency
    consumer: _TrainPlan
    provider: _TrainPlan
    pi_index: int  # of the needed-by PI, on the consumer's cadence
    iteration: int  # needed-by iteration number


class _DemoBuilder:
    def __init__(self, *, size: DemoSize, seed: int, today: datetime.date, slug: str, user_prefix: str, stdout):
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today
        self.slug = slug
        self.prefix = user_prefix
        self.out = stdout
        self.name = portfolio_name_for(slug)
        monday = today - _days(today.weekday())
        grid_index = (monday - PI_GRID_EPOCH).days // PI_DAYS - CURRENT_PI_INDEX
        self.grid_starts = [PI_GRID_EPOCH + _days(PI_DAYS * (grid_index + i)) for i in range(size.program_increments)]
        # Every row was "created" before the first PI and the first status report.
        first_day = min(self.grid_starts[0] - _days(28), today - _days(7 * (size.status_weeks + 1)))
        self.writer = _Writer(stamp=_at(first_day, 8))
        self.started = time.perf_counter()

    # -- the stages, in order ---------------------------------------------------------

    def build(self) -> Demo:
        self._replace_existing()
        self._plan_organisation()
        self._users()
        self._calendar()
        self._portfolio()
        self._trains_and_teams()
        self._epics()
        self._capabilities()
        self._features_and_dependencies()
        self._status_reports()
        self._integration()
        self._releases()
        self._milestones_and_limits()
        Token.objects.get_or_create(user=self.users["automation"])
        counts = dict(sorted(self.writer.counts.items()))
        self._stage("done", f"{sum(counts.values()):,} rows")
        return Demo(portfolio=self.portfolio, users=self.users, counts=counts)

    def _stage(self, label: str, detail: str):
        if self.out is not None:
            elapsed = time.perf_counter() - self.started
            self.out.write(f"{label:<24} {detail} ({elapsed:.1f} s)\n")

    def _count(self, *names: str) -> str:
        return ", ".join(f"{self.writer.counts[name]:,} {name}" for name in names)

    def _replace_existing(self):
        """Delete an earlier portfolio with this slug, and its cadences, in this transaction."""
        old = Portfolio.objects.filter(slug=self.slug).first()
        cadence_ids = set(Cadence.objects.filter(name__startswith=f"{self.name} cadence").values_list("pk", flat=True))
        deleted = 0
        if old is not None:
            cadence_ids.add(old.cadence_id)
            cadence_ids.update(ValueStream.objects.filter(portfolio=old).values_list("cadence_id", flat=True))
            cadence_ids.update(Train.objects.filter(value_stream__portfolio=old).values_list("cadence_id", flat=True))
            # StatusReport.based_on is PROTECT, which blocks the cascade from the trains even
            # though the whole chain goes: delete the reports in one statement first. They
            # have no audit history and no signals, so nothing is skipped.
            reports = StatusReport.objects.filter(train__value_stream__portfolio=old)
            deleted += reports._raw_delete(reports.db)
            deleted += old.delete()[0]
        unused = Cadence.objects.filter(pk__in=cadence_ids - {None}).exclude(
            Q(portfolios__isnull=False) | Q(value_streams__isnull=False) | Q(trains__isnull=False)
        )
        deleted += unused.delete()[0]
        if old is not None:
            self._stage("replaced", f"the existing portfolio {old.name!r}: {deleted:,} rows deleted")

    def _plan_organisation(self):
        """Value streams and trains as unsaved rows; nothing is written yet."""
        size, rng = self.size, self.rng
        self.portfolio = Portfolio(
            name=self.name,
            slug=self.slug,
            description=(
                f"Northwind Bank's change portfolio: {size.value_streams} value streams, {size.arts} ARTs. "
                f"Demo data from seed_demo (seed {self.seed}, anchored on {self.today:%Y-%m-%d})."
            ),
        )
        specs = VALUE_STREAMS[: size.value_streams]
        self.topics = [_split(names.topics) for names in specs]
        art_counts = _apportion(size.arts, VALUE_STREAM_WEIGHTS[: size.value_streams])
        if max(art_counts) > len(specs[0].art_names):
            raise ValueError("Too many ARTs per value stream for the names available.")
        self.value_streams, self.solution_trains, self.arts = [], [], []
        for index, names in enumerate(specs):
            name, key, description = names.name, names.key, names.description
            (st_name, st_key), art_names = names.solution_train_name, names.art_names
            value_stream = ValueStream(portfolio=self.portfolio, name=name, key=key, description=description)
            self.value_streams.append(value_stream)
            solution = None
            if index < size.solution_trains:
                solution = _TrainPlan(
                    Train(value_stream=value_stream, kind=TrainKind.SOLUTION, name=st_name, key=st_key),
                    short=st_name.removesuffix(" Solution Train"),
                    vs=index,
                )
                self.solution_trains.append(solution)
            chosen = art_names[: art_counts[index]]
            for position, (short, art_key) in enumerate(chosen):
                # A large value stream keeps one ART outside its solution train.
                joins = solution is not None and (len(chosen) <= 3 or position < len(chosen) - 1)
                art = _TrainPlan(
                    Train(value_stream=value_stream, kind=TrainKind.ART, name=f"{short} ART", key=art_key),
                    short=short,
                    vs=index,
                    solution=solution if joins else None,
                )
                if joins:
                    solution.arts.append(art)
                self.arts.append(art)
        self.rte_art = next(a for a in self.arts if a.vs == 0)
        self.other_rte_art = next(a for a in self.arts if a.vs == 1)
        self.ste_train = self.rte_art.solution
        if self.ste_train is None:
            raise ValueError("The demo needs a solution train in its first value stream.")
        # One ART drifts off the portfolio cadence: a sync warning for the cadence page.
        special = (self.rte_art, self.other_rte_art)
        self.offset_art = next(a for a in reversed(self.arts) if a.solution is None and a not in special)
        self.offset_art.cadence = 1
        self.trains = self.solution_trains + self.arts
        self.art_by_vs = defaultdict(list)
        for art in self.arts:
            self.art_by_vs[art.vs].append(art)
        # Agile teams per ART (a little uneven), around the system teams and shared services.
        standalone = [a for a in self.arts if a.solution is None]
        self.system_team_homes = self.solution_trains + standalone[::3]
        agile = size.teams - len(self.system_team_homes) - size.shared_services
        for art, count in zip(self.arts, _apportion(agile, [1 + rng.random() * 0.6 for _ in self.arts]), strict=True):
            art.agile_teams = min(count, len(TEAM_NICKNAMES))

    def _users(self):
        """The fixed demo logins and a generated engineer for every other train."""
        rng = self.rng
        wanted = {}  # username: (first, last)
        usernames = demo_usernames(self.prefix)
        for key, _, _, first, last in DEMO_USERS:
            wanted[usernames[key]] = (first, last)
        engineers = {
            self.rte_art: usernames["rte"],
            self.other_rte_art: usernames["other_rte"],
            self.ste_train: usernames["ste"],
        }
        for train in self.trains:
            if train not in engineers:
                role = "ste" if train.obj.kind == TrainKind.SOLUTION else "rte"
                engineers[train] = f"{self.prefix}{role}-{train.obj.key.lower()}"
                wanted[engineers[train]] = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        password = _demo_password_hash()
        existing = {u.username: u for u in User.objects.filter(username__in=list(wanted))}
        new = []
        for username, (first, last) in wanted.items():
            user = existing.get(username)
            if user is None:
                user = User(username=username, date_joined=self.writer.stamp)
                new.append(user)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@example.org"
            user.password = password
            user.is_active = True
        User.objects.bulk_update(existing.values(), ["first_name", "last_name", "email", "password", "is_active"])
        if new:
            User.objects.bulk_create(new, batch_size=BATCH_SIZE)
            self.writer.counts[User.__name__] += len(new)
        by_name = {**existing, **{u.username: u for u in new}}
        self.all_users = [by_name[name] for name in wanted]
        self.users = {key: by_name[usernames[key]] for key, *_ in DEMO_USERS}
        for train, username in engineers.items():
            train.obj.engineer = by_name[username]
        self._stage("users", f"{len(new)} created, {len(existing)} reused")

    def _calendar(self):
        """The portfolio cadence and one offset by a few days, each with PIs, iterations and events."""
        offset_name = f"{self.name} cadence, {self.offset_art.short} offset"
        self.cadences = [
            Cadence(name=f"{self.name} cadence", start_date=self.grid_starts[0]),
            Cadence(name=offset_name, start_date=self.grid_starts[0] + _days(OFFSET_CADENCE_DAYS)),
        ]
        for cadence in self.cadences:
            cadence.iterations_per_pi = ITERATIONS_PER_PI
            cadence.iteration_length_days = ITERATION_DAYS
            cadence.intake_cutoff_days = INTAKE_CUTOFF_DAYS
        self.writer.create(Cadence, self.cadences)
        self.pis = [[], []]
        for c, offset in ((0, 0), (1, OFFSET_CADENCE_DAYS)):
            for number, grid_start in enumerate(self.grid_starts, start=1):
                start = grid_start + _days(offset)
                self.pis[c].append(
                    ProgramIncrement(
                        cadence=self.cadences[c],
                        name=_pi_name(grid_start),
                        number=number,
                        start_date=start,
                        end_date=start + _days(PI_DAYS - 1),
                        planning_date=start,
                        intake_cutoff=start - _days(INTAKE_CUTOFF_DAYS),
                    )
                )
        self.writer.create(ProgramIncrement, self.pis[0] + self.pis[1])
        self.iterations = [[], []]  # [cadence][pi index][iteration number - 1]
        for c in (0, 1):
            for pi in self.pis[c]:
                self.iterations[c].append(
                    [
                        Iteration(
                            program_increment=pi,
                            number=n,
                            start_date=pi.start_date + _days(ITERATION_DAYS * (n - 1)),
                            end_date=pi.start_date + _days(ITERATION_DAYS * n - 1),
                            is_innovation_planning=n == ITERATIONS_PER_PI,
                        )
                        for n in range(1, ITERATIONS_PER_PI + 1)
                    ]
                )
        self.writer.create(Iteration, [it for c in (0, 1) for pi_its in self.iterations[c] for it in pi_its])
        self.current = [next(i for i, pi in enumerate(self.pis[c]) if pi.contains(self.today)) for c in (0, 1)]
        events = []
        for c in (0, 1):
            for pi, its in zip(self.pis[c], self.iterations[c], strict=True):
                ip = its[-1]
                events.append(self._event(pi, its[0], CadenceEventKind.PI_PLANNING, "PI planning", pi.planning_date, 1))
                for it in its[:-1]:
                    events.append(
                        self._event(
                            pi, it, CadenceEventKind.SYSTEM_DEMO, f"I{it.number} system demo", it.end_date - _days(3)
                        )
                    )
                for it in (its[1], its[3]):
                    events.append(
                        self._event(
                            pi,
                            it,
                            CadenceEventKind.PORTFOLIO_SYNC,
                            f"I{it.number} portfolio sync",
                            it.start_date + _days(2),
                        )
                    )
                events.append(
                    self._event(pi, ip, CadenceEventKind.SOLUTION_DEMO, "solution demo", ip.start_date + _days(2))
                )
                events.append(
                    self._event(pi, ip, CadenceEventKind.INSPECT_ADAPT, "inspect & adapt", ip.start_date + _days(3), 1)
                )
        self.writer.create(CadenceEvent, events)
        self._stage("calendar", self._count("Cadence", "ProgramIncrement", "Iteration", "CadenceEvent"))

    @staticmethod
    def _event(pi, iteration, kind, label, day, extra_days=0):
        return CadenceEvent(
            program_increment=pi,
            iteration=iteration,
            kind=kind,
            name=f"{pi.name} {label}",
            start_date=day,
            end_date=day + _days(extra_days),
        )

    def _iteration(self, cadence: int, g: int) -> Iteration:
        """The iteration with global index ``g`` (PI index × iterations per PI + number - 1)."""
        return self.iterations[cadence][g // ITERATIONS_PER_PI][g % ITERATIONS_PER_PI]

    def _development_g(self, g: int) -> int:
        """``g`` moved into the calendar and off an IP iteration."""
        g = max(0, min(g, len(self.grid_starts) * ITERATIONS_PER_PI - 1))
        return g - 1 if g % ITERATIONS_PER_PI == ITERATIONS_PER_PI - 1 else g

    def _portfolio(self):
        self.portfolio.cadence = self.cadences[0]
        self.writer.create(Portfolio, [self.portfolio])
        roles = {self.users[key].pk: role for key, _, role, *_ in DEMO_USERS}
        self.writer.create(
            Membership,
            [Membership(user=u, portfolio=self.portfolio, role=roles.get(u.pk, Role.VIEWER)) for u in self.all_users],
        )
        self.themes = self.writer.create(
            StrategicTheme,
            [
                StrategicTheme(portfolio=self.portfolio, name=name, description=description)
                for name, description in THEMES[: self.size.themes]
            ],
        )
        self._stage("portfolio", f"{self.name!r}, " + self._count("Membership", "StrategicTheme"))

    def _trains_and_teams(self):
        rng = self.rng
        self.writer.create(ValueStream, self.value_streams)
        self.writer.create(Train, [t.obj for t in self.solution_trains])
        for art in self.arts:
            art.obj.solution_train = art.solution.obj if art.solution else None
            art.obj.cadence = self.cadences[1] if art.cadence == 1 else None
        self.writer.create(Train, [a.obj for a in self.arts])
        teams, serves = [], []
        for art in self.arts:
            for nickname in rng.sample(TEAM_NICKNAMES, art.agile_teams):
                teams.append(Team(portfolio=self.portfolio, name=f"{art.short} {nickname}", train=art.obj))
        for home in self.system_team_homes:
            team = Team(
                portfolio=self.portfolio, name=f"{home.short} System Team", kind=TeamKind.SYSTEM, train=home.obj
            )
            teams.append(team)
            serves.extend((team, art.obj) for art in home.arts)
        for name in SHARED_SERVICES[: self.size.shared_services]:
            team = Team(portfolio=self.portfolio, name=name, kind=TeamKind.SHARED_SERVICE)
            teams.append(team)
            served = rng.sample(self.trains, min(len(self.trains), rng.randint(3, 8)))
            serves.extend((team, t.obj) for t in served)
        self.writer.create(Team, teams)
        self.writer.link(Team, "serves", serves)
        self._stage("value streams and trains", self._count("ValueStream", "Train", "Team", "Team_serves"))

    def _epics(self):
        size, rng = self.size, self.rng
        active = _apportion(size.active_epics, (15, 20, 30, 35))
        inactive = _apportion(size.epics - size.active_epics, (40, 60))
        states = (
            [EpicState.FUNNEL] * inactive[0]
            + [EpicState.REVIEWING] * active[0]
            + [EpicState.ANALYZING] * active[1]
            + [EpicState.PORTFOLIO_BACKLOG] * active[2]
            + [EpicState.IMPLEMENTING] * active[3]
            + [EpicState.DONE] * inactive[1]
        )
        rng.shuffle(states)
        vs_count = len(self.value_streams)
        vs_cum = list(itertools.accumulate(len(self.art_by_vs[i]) for i in range(vs_count)))
        cur, last = self.current[0], len(self.pis[0]) - 1
        titles = Counter()
        self.epics = []
        theme_links, stream_links = [], []
        for number, state in enumerate(states, start=101):
            enabler = rng.random() < 0.3
            primary = rng.choices(range(vs_count), cum_weights=vs_cum)[0]
            touched = [primary]
            roll = rng.random()
            for other in rng.sample(range(vs_count), vs_count)[: 0 if roll < 0.55 else 1 if roll < 0.85 else 2]:
                if other not in touched:
                    touched.append(other)
            topic = rng.choice(self.topics[primary])
            pattern = rng.choice(ENABLER_TITLES if enabler else BUSINESS_TITLES)
            title = pattern.format(t=topic, T=topic[0].upper() + topic[1:])
            titles[title] += 1
            if titles[title] > 1:
                title = f"{title} (phase {titles[title]})"
            components = [rng.choices(WSJF_SCALE, weights=WSJF_WEIGHTS)[0] for _ in range(4)]
            target = None
            if state == EpicState.ANALYZING and rng.random() < 0.5:
                target = cur + rng.randint(2, 5)
            elif state == EpicState.PORTFOLIO_BACKLOG:
                target = cur + rng.randint(1, 3)
            elif state == EpicState.IMPLEMENTING:
                target = cur + rng.choices((-1, 0, 1), weights=(1, 7, 2))[0]
            elif state == EpicState.DONE and rng.random() < 0.7:
                target = rng.randint(0, cur - 1)
            with_hypothesis = state not in (EpicState.FUNNEL, EpicState.REVIEWING) or rng.random() < 0.55
            customers = (
                f"the {VALUE_STREAMS[primary].name} trains"
                if enabler
                else rng.choice(_split(VALUE_STREAMS[primary].customers))
            )
            hypothesis = (
                f"For {customers} who {rng.choice(HYPOTHESIS_NEEDS)}, {title.lower()} will "
                f"{rng.choice(HYPOTHESIS_BENEFITS)}. We will know we are right when "
                f"{rng.choice(HYPOTHESIS_INDICATORS)}. MVP: {rng.choice(HYPOTHESIS_MVPS)}."
            )
            owner_key = "enterprise_architect" if enabler else "portfolio_manager"
            owned = state != EpicState.FUNNEL or rng.random() < 0.7
            age = {
                EpicState.FUNNEL: (5, 300),
                EpicState.REVIEWING: (3, 60),
                EpicState.ANALYZING: (7, 90),
                EpicState.PORTFOLIO_BACKLOG: (14, 120),
                EpicState.IMPLEMENTING: (7, 150),
                EpicState.DONE: (10, 500),
            }[state]
            epic = Epic(
                portfolio=self.portfolio,
                key=f"EP-{number}",
                title=title[:200],
                description=(
                    f"{title}. Touches {', '.join(VALUE_STREAMS[i].name for i in touched)}; "
                    f"{'an enabler for the trains' if enabler else 'a business epic for our customers'}."
                ),
                kind=EpicKind.ENABLER if enabler else EpicKind.BUSINESS,
                state=state,
                owner=self.users[owner_key] if owned else None,
                target_pi=self.pis[0][min(target, last)] if target is not None else None,
                business_value=components[0],
                time_criticality=components[1],
                risk_reduction=components[2],
                job_size=components[3],
                mvp_hypothesis=hypothesis if with_hypothesis else "",
                state_changed_at=_at(self.today - _days(rng.randint(*age)), 10),
            )
            self.epics.append(_EpicPlan(epic, touched, topic))
            if state != EpicState.FUNNEL or rng.random() < 0.5:
                theme_links.extend((epic, theme) for theme in rng.sample(self.themes, rng.randint(1, 2)))
            stream_links.extend((self.value_streams[i], epic) for i in touched)
        self.writer.create(Epic, [e.obj for e in self.epics])
        self.writer.link(Epic, "themes", theme_links)
        self.writer.link(ValueStream, "epics", stream_links)
        # Which epics work on a PI may belong to, by value stream and by how far the PI is from now.
        tags = {
            EpicState.DONE: ("past",),
            EpicState.IMPLEMENTING: ("past", "current", "near"),
            EpicState.PORTFOLIO_BACKLOG: ("current", "near", "far"),
            EpicState.ANALYZING: ("far",),
        }
        self.epic_pool = defaultdict(list)
        for epic in self.epics:
            for tag in tags.get(epic.obj.state, ()):
                for vs in epic.value_streams:
                    self.epic_pool[(vs, tag)].append(epic)
        self._stage("epics", self._count("Epic", "Epic_themes", "ValueStream_epics"))

    def _pick_epic(self, vs: int, rel: int | None) -> _EpicPlan | None:
        if rel is None or rel > 2:
            tag = "far"
        elif rel < 0:
            tag = "past"
        else:
            tag = "current" if rel == 0 else "near"
        pool = self.epic_pool.get((vs, tag))
        return self.rng.choice(pool) if pool else None

    def _pi_weights(self, cadence: int, by_rel) -> list[float]:
        return list(itertools.accumulate(by_rel(i - self.current[cadence]) for i in range(len(self.pis[cadence]))))

    def _capabilities(self):
        rng = self.rng
        carriers = self.solution_trains + [a for a in self.arts if a.solution is None]
        carrier_cum = list(itertools.accumulate(len(c.arts) if c.arts else 1 for c in carriers))
        by_rel = lambda rel: 0.8 if rel < 0 else (1.0, 0.9, 0.75, 0.6, 0.5)[rel] if rel < 5 else 0.4  # noqa: E731
        pi_cum = [self._pi_weights(c, by_rel) for c in (0, 1)]
        pi_range = range(len(self.grid_starts))
        capabilities = []
        self.capabilities_at = defaultdict(list)  # (carrier, PI index) -> capabilities
        for number in range(1, self.size.capabilities + 1):
            carrier = rng.choices(carriers, cum_weights=carrier_cum)[0]
            c = carrier.cadence
            pi_index = rng.choices(pi_range, cum_weights=pi_cum[c])[0]
            rel = pi_index - self.current[c]
            epic = self._pick_epic(carrier.vs, rel) if rng.random() < 0.92 else None
            topic = epic.topic if epic else rng.choice(self.topics[carrier.vs])
            base = epic.obj.title if epic else topic[0].upper() + topic[1:]
            roll = rng.random()
            if rel < 0:
                state = WorkState.DONE if roll < 0.9 else WorkState.IMPLEMENTING
            elif rel == 0:
                state = WorkState.DONE if roll < 0.1 else WorkState.IMPLEMENTING if roll < 0.7 else WorkState.BACKLOG
            else:
                state = WorkState.IMPLEMENTING if rel == 1 and roll < 0.05 else WorkState.BACKLOG
            capability = Capability(
                train=carrier.obj,
                epic=epic.obj if epic else None,
                key=f"CAP-{number}",
                name=f"{base}: {rng.choice(CAPABILITY_ASPECTS)}"[:200],
                program_increment=self.pis[c][pi_index],
                commitment=Commitment.COMMITTED if rel <= 0 else Commitment.FORECAST,
                state=state,
            )
            capabilities.append(capability)
            self.capabilities_at[(carrier, pi_index)].append((capability, epic, topic))
        self.writer.create(Capability, capabilities)
        self._stage("capabilities", self._count("Capability"))

    def _features_and_dependencies(self):
        self._plan_features()
        self._plan_dependencies()
        self.writer.create(Feature, self.features)
        self._stage("features", self._count("Feature"))
        self.writer.create(Dependency, [d.obj for d in self.dependencies])
        self._stage("dependencies", self._count("Dependency"))

    def _plan_features(self):
        rng, today = self.rng, self.today
        art_cum = list(itertools.accumulate(a.agile_teams for a in self.arts))
        by_rel = lambda rel: 1.0 if rel < 0 else (1.15, 0.8, 0.55, 0.4, 0.3, 0.22, 0.16)[rel] if rel < 7 else 0.12  # noqa: E731
        pi_cum = [self._pi_weights(c, by_rel) for c in (0, 1)]
        pi_range = range(len(self.grid_starts))
        sequence = Counter()
        self.features = []
        self.features_in_pi = defaultdict(list)  # (art, PI index) -> features
        self.features_in_iteration = defaultdict(list)  # (art, PI index, iteration number) -> features
        for _ in range(self.size.features):
            art = rng.choices(self.arts, cum_weights=art_cum)[0]
            c = art.cadence
            pi_index = None if rng.random() < 0.03 else rng.choices(pi_range, cum_weights=pi_cum[c])[0]
            rel = None if pi_index is None else pi_index - self.current[c]
            candidates = self.capabilities_at.get((art.solution or art, pi_index))
            if candidates and rng.random() < 0.75:
                capability, epic, topic = rng.choice(candidates)
            else:
                capability, epic = None, self._pick_epic(art.vs, rel) if rng.random() < 0.88 else None
                topic = epic.topic if epic else rng.choice(self.topics[art.vs])
            name = rng.choice(FEATURE_TEMPLATES).format(t=topic)
            iteration, state, done_on = None, WorkState.BACKLOG, None
            if pi_index is not None:
                number = ITERATIONS_PER_PI if rng.random() < 0.03 else rng.randint(1, ITERATIONS_PER_PI - 1)
                iteration = self.iterations[c][pi_index][number - 1]
                roll = rng.random()
                if iteration.end_date < today:
                    if roll < (0.9 if rel < 0 else 0.85):
                        state = WorkState.DONE
                    elif roll < 0.96:
                        state = WorkState.IMPLEMENTING
                elif iteration.start_date < today:
                    state = WorkState.DONE if roll < 0.15 else WorkState.IMPLEMENTING if roll < 0.75 else state
                elif (rel == 0 and roll < 0.15) or (rel == 1 and roll < 0.03):
                    state = WorkState.IMPLEMENTING
                if state == WorkState.DONE:
                    done_on = self._day_within(iteration)
            sequence[art] += 1
            feature = Feature(
                train=art.obj,
                capability=capability,
                epic=epic.obj if epic else None,
                key=f"{art.obj.key}-{100 + sequence[art]}",
                name=name[:200],
                program_increment=iteration.program_increment if iteration else None,
                iteration=iteration,
                commitment=Commitment.COMMITTED if rel is not None and rel <= 0 else Commitment.FORECAST,
                state=state,
                done_on=done_on,
            )
            self.features.append(feature)
            if iteration is not None:
                self.features_in_pi[(art, pi_index)].append(feature)
                self.features_in_iteration[(art, pi_index, iteration.number)].append(feature)

    def _day_within(self, iteration: Iteration) -> datetime.date:
        """A day of the iteration before today (the iteration must have started before today)."""
        last = min(iteration.end_date, self.today - _days(1))
        return iteration.start_date + _days(self.rng.randint(0, (last - iteration.start_date).days))

    def _plan_dependencies(self):
        rng, today = self.rng, self.today
        per_pi = ITERATIONS_PER_PI
        today_iteration = next(
            it for it in self.iterations[0][self.current[0]] if it.start_date <= today <= it.end_date
        )
        now_g = self.current[0] * per_pi + today_iteration.number - 1
        rte, other = self.rte_art, self.other_rte_art
        # The demo's RTE and the other RTE depend on each other across value streams.
        fixed = [
            (rte, other, now_g + 2, now_g + 1, DependencyState.COMMITTED, DependencyFlag.NONE),
            (rte, other, now_g + 5, now_g + 6, DependencyState.ACCEPTED, DependencyFlag.AT_RISK),
            (other, rte, now_g + 3, None, DependencyState.REQUESTED, DependencyFlag.NONE),
            (other, rte, now_g - 3, now_g - 4, DependencyState.DELIVERED, DependencyFlag.NONE),
        ]
        self.dependencies = []
        for consumer, provider, need_g, commit_g, state, flag in fixed:
            need_g = self._development_g(need_g)
            commit_g = None if commit_g is None else self._development_g(commit_g)
            self._add_dependency(consumer, provider, need_g, commit_g, state, flag)
        art_cum = list(itertools.accumulate(a.agile_teams for a in self.arts))
        by_rel = lambda rel: 0.45 if rel < 0 else (1.6, 1.3, 0.9, 0.6, 0.4, 0.3)[rel] if rel < 6 else 0.15  # noqa: E731
        pi_cum = [self._pi_weights(c, by_rel) for c in (0, 1)]
        pi_range = range(len(self.grid_starts))
        others = {vs: [a for a in self.arts if a.vs != vs] for vs in self.art_by_vs}
        states = {
            "past": (
                (DependencyState.DELIVERED, 78),
                (DependencyState.COMMITTED, 8),
                (DependencyState.ACCEPTED, 4),
                (DependencyState.REQUESTED, 2),
                (DependencyState.DECLINED, 4),
                (DependencyState.CANCELLED, 4),
            ),
            "current": (
                (DependencyState.COMMITTED, 50),
                (DependencyState.ACCEPTED, 15),
                (DependencyState.REQUESTED, 12),
                (DependencyState.DELIVERED, 15),
                (DependencyState.DECLINED, 4),
                (DependencyState.CANCELLED, 4),
            ),
            "future": (
                (DependencyState.REQUESTED, 35),
                (DependencyState.ACCEPTED, 30),
                (DependencyState.COMMITTED, 28),
                (DependencyState.DECLINED, 4),
                (DependencyState.CANCELLED, 3),
            ),
        }
        for _ in range(self.size.dependencies - len(fixed)):
            consumer = rng.choices(self.arts, cum_weights=art_cum)[0]
            same = [a for a in self.art_by_vs[consumer.vs] if a is not consumer]
            provider = rng.choice(others[consumer.vs] if rng.random() < 0.6 or not same else same)
            c = consumer.cadence
            pi_index = rng.choices(pi_range, cum_weights=pi_cum[c])[0]
            candidates = self.features_in_pi.get((consumer, pi_index))
            needing = rng.choice(candidates) if candidates and rng.random() < 0.92 else None
            if needing is not None:
                number = max(1, min(per_pi - 1, needing.iteration.number - rng.choice((0, 0, 1))))
            else:
                number = rng.randint(1, per_pi - 1)
            need_g = pi_index * per_pi + number - 1
            needed_by = self._iteration(c, need_g)
            phase = "past" if needed_by.end_date < today else "current" if pi_index == self.current[c] else "future"
            choices, weights = zip(*states[phase], strict=True)
            state = rng.choices(choices, weights=weights)[0]
            commit_g = None
            if state in (DependencyState.ACCEPTED, DependencyState.COMMITTED, DependencyState.DELIVERED):
                colour = rng.choices(("green", "amber", "red"), weights=(55, 30, 15))[0]
                shift = {"green": -rng.randint(1, 3), "amber": 0, "red": rng.randint(1, 2)}[colour]
                commit_g = self._development_g(need_g + shift)
            late = needed_by.end_date < today or (commit_g is not None and commit_g > need_g)
            roll = rng.random()
            flag = DependencyFlag.NONE
            if state in (DependencyState.REQUESTED, DependencyState.ACCEPTED, DependencyState.COMMITTED):
                if roll < (0.45 if late else 0.06):
                    flag = DependencyFlag.AT_RISK
                elif roll < (0.6 if late else 0.08):
                    flag = DependencyFlag.BLOCKED
            self._add_dependency(consumer, provider, need_g, commit_g, state, flag, needing=needing)

    def _add_dependency(self, consumer, provider, need_g, commit_g, state, flag, *, needing=None):
        rng, per_pi = self.rng, ITERATIONS_PER_PI
        needed_by = self._iteration(consumer.cadence, need_g)
        pi_index = need_g // per_pi
        if needing is None:
            candidates = self.features_in_iteration.get(
                (consumer, pi_index, needed_by.number)
            ) or self.features_in_pi.get((consumer, pi_index))
            needing = rng.choice(candidates) if candidates else None
        committed, delivering, delivered_on = None, None, None
        if commit_g is not None:
            committed = self._iteration(provider.cadence, commit_g)
            if state == DependencyState.DELIVERED and committed.start_date >= self.today:
                state = DependencyState.COMMITTED
            candidates = self.features_in_iteration.get((provider, commit_g // per_pi, committed.number))
            delivering = rng.choice(candidates) if candidates else None
            if state == DependencyState.DELIVERED:
                delivered_on = self._day_within(committed)
                if delivering is not None and delivering.state != WorkState.DONE:
                    delivering.state, delivering.done_on = WorkState.DONE, delivered_on
        need = rng.choice(DEPENDENCY_NEEDS)
        reason = ""
        if flag == DependencyFlag.AT_RISK:
            reason = rng.choice(AT_RISK_REASONS)
        elif flag == DependencyFlag.BLOCKED:
            reason = rng.choice(BLOCKED_REASONS)
        what = f" to finish {needing.key} {needing.name}" if needing is not None else ""
        dependency = Dependency(
            portfolio=self.portfolio,
            key=f"DEP-{len(self.dependencies) + 1}",
            title=f"{need} for {consumer.short}",
            description=f"{consumer.obj.name} needs the {need[0].lower()}{need[1:]} from {provider.obj.name}{what}.",
            consumer=consumer.obj,
            provider=provider.obj,
            needed_by_pi=needed_by.program_increment,
            needed_by_iteration=needed_by,
            committed_pi=committed.program_increment if committed else None,
            committed_iteration=committed,
            state=state,
            flag=flag,
            flag_reason=reason,
            consumer_feature=needing,
            provider_feature=delivering,
            epic=needing.epic if needing is not None else None,
            raised_by=consumer.obj.engineer,
            delivered_on=delivered_on,
        )
        self.dependencies.append(_DependencyPlan(dependency, consumer, provider, pi_index, needed_by.number))

    def _status_reports(self):
        """Weekly reports per train, each based on the train's previous one; a few trains are stale."""
        rng, weeks = self.rng, self.size.status_weeks
        special = {self.rte_art, self.other_rte_art, self.ste_train}
        ordinary = [t for t in self.trains if t not in special]
        stale = set(rng.sample(ordinary, max(1, round(len(self.trains) * 0.08))))
        moves = {
            Health.ON_TRACK: ((Health.ON_TRACK, 86), (Health.AT_RISK, 12), (Health.OFF_TRACK, 2)),
            Health.AT_RISK: ((Health.ON_TRACK, 35), (Health.AT_RISK, 55), (Health.OFF_TRACK, 10)),
            Health.OFF_TRACK: ((Health.ON_TRACK, 10), (Health.AT_RISK, 40), (Health.OFF_TRACK, 50)),
        }
        confidence = {Health.ON_TRACK: (4, 5), Health.AT_RISK: (3, 4), Health.OFF_TRACK: (1, 3)}
        timelines = []
        for train in self.trains:
            latest = rng.randint(9, 23) if train in stale else rng.randint(1, 5)
            days = [latest + 7 * k for k in range(weeks) if k in (0, weeks - 1) or rng.random() > 0.04]
            health, reports = Health.ON_TRACK, []
            for day in reversed(days):
                choices, weights = zip(*moves[health], strict=True)
                health = rng.choices(choices, weights=weights)[0]
                troubled = health != Health.ON_TRACK
                reports.append(
                    StatusReport(
                        train=train.obj,
                        author=train.obj.engineer if rng.random() < 0.93 else self.users["apmo"],
                        created_at=_at(self.today - _days(day), rng.randint(9, 17), rng.choice((0, 15, 30, 45))),
                        health=health,
                        pi_confidence=rng.randint(*confidence[health]),
                        summary=rng.choice(SUMMARIES[health]),
                        risks=rng.choice(RISKS) if troubled or rng.random() < 0.3 else "",
                        blockers=rng.choice(BLOCKERS) if health == Health.OFF_TRACK or rng.random() < 0.05 else "",
                    )
                )
            timelines.append(reports)
        # based_on points at the train's previous report: write them one week at a time.
        for week in range(max(len(t) for t in timelines)):
            batch = []
            for reports in timelines:
                if week < len(reports):
                    reports[week].based_on = reports[week - 1] if week else None
                    batch.append(reports[week])
            self.writer.create(StatusReport, batch)
        self._stage("status reports", f"{self._count('StatusReport')}, {len(stale)} trains stale")

    def _integration(self):
        """Per PI: a solution demo per solution train, then points around dependencies between trains."""
        rng, today = self.rng, self.today
        pis, its = self.pis[0], self.iterations[0]
        deps_in_pi = defaultdict(list)
        for dep in self.dependencies:
            if dep.consumer.cadence == 0:
                deps_in_pi[dep.pi_index].append(dep)
        names, points, criteria, results = set(), [], [], []
        links = defaultdict(list)  # m2m field -> pairs
        self.points_in_pi = defaultdict(list)
        for pi_index, quota in enumerate(_apportion(self.size.integration_points, [1] * len(pis))):
            pi = pis[pi_index]
            for n in range(quota):
                if n < len(self.solution_trains):
                    solution = self.solution_trains[n]
                    trains = [solution, *solution.arts[:5]]
                    number, depth = ITERATIONS_PER_PI, Depth.FULL
                    day = its[pi_index][-1].start_date + _days(2)  # the solution demo
                    label = f"{solution.short} solution demo"
                else:
                    dep = rng.choice(deps_in_pi[pi_index]) if deps_in_pi[pi_index] else None
                    pair = [dep.consumer, dep.provider] if dep else rng.sample(self.arts, 2)
                    nearby = [a for a in self.arts if a.vs in {t.vs for t in pair} and a not in pair]
                    trains = pair + rng.sample(nearby, min(len(nearby), rng.randint(0, 2)))
                    number = min(dep.iteration if dep else rng.randint(1, 4), ITERATIONS_PER_PI - 1)
                    day = its[pi_index][number - 1].end_date - _days(3)  # the system demo
                    depth = Depth.FULL if rng.random() < 0.2 else Depth.PARTIAL
                    solution = next((t.solution for t in pair if t.solution), None) if rng.random() < 0.6 else None
                    label = f"I{number} {pair[0].short} + {pair[1].short}"
                name = base = f"{pi.name} · {label}"
                copy = 1
                while name in names:
                    copy += 1
                    name = f"{base} ({copy})"
                names.add(name)
                outcome, checked = Outcome.PENDING, None
                if day < today:
                    outcome = rng.choices((Outcome.PASSED, Outcome.FAILED, Outcome.MISSED), weights=(78, 12, 10))[0]
                    checked = _at(day, 18)
                elif (day - today).days <= 14:
                    outcome = rng.choices((Outcome.READY, Outcome.AT_RISK, Outcome.NOT_READY), weights=(5, 3, 2))[0]
                    checked = _at(today - _days(1), 6)
                point = IntegrationPoint(
                    portfolio=self.portfolio,
                    name=name[:160],
                    date=day,
                    program_increment=pi,
                    depth=depth,
                    solution_train=solution.obj if solution else None,
                    outcome=outcome,
                    last_checked_at=checked,
                )
                points.append(point)
                self.points_in_pi[pi_index].append(point)
                members = set(trains)
                links["trains"].extend((point, t.obj) for t in trains)
                links["value_streams"].extend((point, self.value_streams[t.vs]) for t in trains)
                links["dependencies"].extend(
                    (point, d.obj)
                    for d in deps_in_pi[pi_index]
                    if d.consumer in members and d.provider in members and d.iteration <= number
                )
                for train in trains:
                    done_by = [
                        f for f in self.features_in_pi.get((train, pi_index), ()) if f.iteration.number <= number
                    ]
                    links["features"].extend((point, f) for f in rng.sample(done_by, min(len(done_by), 2)))
                for position, text in enumerate(rng.sample(CRITERIA, rng.randint(2, 4)), start=1):
                    if outcome == Outcome.PASSED:
                        met = True
                    elif day < today or checked is not None:
                        met = rng.random() < 0.5
                    else:
                        met = False
                    criteria.append(AcceptanceCriterion(integration_point=point, text=text, met=met, position=position))
                if outcome in (Outcome.PASSED, Outcome.FAILED):
                    results.append(
                        IntegrationResult(
                            integration_point=point,
                            verdict=ResultVerdict.PASS if outcome == Outcome.PASSED else ResultVerdict.FAIL,
                            notes="All acceptance checks green."
                            if outcome == Outcome.PASSED
                            else "Smoke tests failed.",
                            recorded_by=self.users["automation"],
                            recorded_at=_at(day, 17, 30),
                            idempotency_key=f"demo-{len(results) + 1}",
                            source_url=f"https://ci.example.org/pipelines/{10000 + len(results)}",
                        )
                    )
        self.writer.create(IntegrationPoint, points)
        for field_name, pairs in links.items():
            self.writer.link(IntegrationPoint, field_name, pairs)
        self.writer.create(AcceptanceCriterion, criteria)
        recorded_at = [r.recorded_at for r in results]
        self.writer.create(IntegrationResult, results)
        for result, when in zip(results, recorded_at, strict=True):
            result.recorded_at = when  # auto_now_add replaced it on insert: put the demo's back
        IntegrationResult.objects.bulk_update(results, ["recorded_at"], batch_size=BATCH_SIZE)
        self.streams_of_point = defaultdict(list)
        for point, stream in links["value_streams"]:
            self.streams_of_point[point.pk].append(stream)
        self._stage("integration points", self._count("IntegrationPoint", "AcceptanceCriterion", "IntegrationResult"))

    def _releases(self):
        """One portfolio release per PI, gated on its full integration points and a few partial ones."""
        pis, its = self.pis[0], self.iterations[0]
        self.releases, gates = [], []
        for pi_index, pi in enumerate(pis):
            in_pi = self.points_in_pi[pi_index]
            gated = [p for p in in_pi if p.depth == Depth.FULL] + [p for p in in_pi if p.depth != Depth.FULL][:3]
            release = Release(
                portfolio=self.portfolio,
                name=f"R{pi.name.removeprefix('PI ')} {RELEASE_NAMES[pi_index % len(RELEASE_NAMES)]}",
                date=its[pi_index][-1].start_date + _days(4),
                description=f"Portfolio release of {pi.name}, gated on {len(gated)} integration points.",
            )
            self.releases.append(release)
            gates.extend((release, point) for point in gated)
        self.writer.create(Release, self.releases)
        self.writer.link(Release, "integration_points", gates)
        streams = [(release, stream) for release, point in gates for stream in self.streams_of_point[point.pk]]
        self.writer.link(Release, "value_streams", streams)
        self._stage("releases", self._count("Release", "Release_integration_points", "Release_value_streams"))

    def _milestones_and_limits(self):
        rng = self.rng
        pis, cur = self.pis[0], self.current[0]
        milestones = [
            Milestone(
                portfolio=self.portfolio,
                name=f"{pi.name} planning",
                kind=MilestoneKind.PI_EVENT,
                date=pi.planning_date,
                program_increment=pi,
            )
            for pi in pis
        ]
        for release, pi in zip(self.releases, pis, strict=True):
            milestones.append(
                Milestone(
                    portfolio=self.portfolio,
                    name=f"{release.name} go-live",
                    kind=MilestoneKind.RELEASE,
                    date=release.date,
                    program_increment=pi,
                    release=release,
                )
            )
        for k, (name, description) in enumerate(REGULATORY_MILESTONES):
            pi_index = cur + 1 + 2 * k
            if pi_index < len(pis):
                milestones.append(
                    Milestone(
                        portfolio=self.portfolio,
                        name=name,
                        kind=MilestoneKind.FIXED_DATE,
                        date=pis[pi_index].start_date + _days(30 + 3 * k),
                        program_increment=pis[pi_index],
                        description=description,
                    )
                )
        implementing = [e for e in self.epics if e.obj.state == EpicState.IMPLEMENTING]
        for epic in rng.sample(implementing, min(len(implementing), self.size.learning_milestones)):
            vs = epic.value_streams[0]
            carrier = next((t for t in self.solution_trains if t.vs == vs), None) or rng.choice(self.art_by_vs[vs])
            pi = epic.obj.target_pi or pis[cur]
            milestones.append(
                Milestone(
                    portfolio=self.portfolio,
                    train=carrier.obj,
                    name=f"Learning review: {epic.obj.title}"[:160],
                    kind=MilestoneKind.LEARNING,
                    date=pi.start_date + _days(rng.choice((24, 38, 52))),
                    program_increment=pi,
                    description=f"Is the MVP of {epic.obj.key} proving its hypothesis? Pivot or persevere.",
                )
            )
        self.writer.create(Milestone, milestones)
        in_state = Counter(e.obj.state for e in self.epics)
        # Each column's limit sits just above its count, but analyzing is over its limit.
        headroom = {
            EpicState.REVIEWING: 2,
            EpicState.ANALYZING: -2,
            EpicState.PORTFOLIO_BACKLOG: 3,
            EpicState.IMPLEMENTING: 0,
        }
        self.writer.create(
            WipLimit,
            [
                WipLimit(portfolio=self.portfolio, state=state, limit=max(1, in_state[state] + headroom[state]))
                for state in WIP_LIMITED_STATES
            ],
        )
        self._stage("milestones", self._count("Milestone", "WipLimit"))
