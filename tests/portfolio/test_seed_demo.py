"""The demo portfolio generator (``portfolio.demo``) and its ``seed_demo`` command.

Other tests' demo portfolios (small-demo, medium-demo) may be in the database too:
every assertion here is scoped to the portfolio the test built.
"""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Q
from rest_framework.authtoken.models import Token

from cadence.models import Cadence, Iteration, ProgramIncrement
from integration.models import IntegrationPoint, IntegrationResult
from portfolio.demo import (
    DEMO_PASSWORD,
    SCALED_COUNTS,
    SIZES,
    VALUE_STREAMS,
    _DemoBuilder,
    build_demo,
    demo_usernames,
)
from portfolio.models import Epic, Membership, Portfolio, Role
from valuestreams.models import (
    Dependency,
    DependencyFlag,
    DependencyState,
    Feature,
    StatusReport,
    Team,
    Train,
    TrainKind,
    WorkState,
)

TODAY = datetime.date(2026, 11, 25)  # a Wednesday
User = get_user_model()


def build(slug="seed-test", **kwargs):
    options = {"size": "small", "seed": 1, "today": TODAY, "slug": slug, "user_prefix": f"{slug}-"}
    return build_demo(**{**options, **kwargs})


def snapshot(portfolio) -> dict:
    """What a demo says, without database ids, timestamps of the load or usernames."""
    return {
        "epics": list(
            Epic.objects.filter(portfolio=portfolio)
            .order_by("key")
            .values_list(
                "key",
                "title",
                "kind",
                "state",
                "business_value",
                "time_criticality",
                "risk_reduction",
                "job_size",
                "wsjf",
                "target_pi__name",
                "mvp_hypothesis",
                "state_changed_at",
            )
        ),
        "features": list(
            Feature.objects.filter(train__value_stream__portfolio=portfolio)
            .order_by("train__key", "key")
            .values_list(
                "train__key", "key", "name", "capability__key", "epic__key", "iteration__number", "state", "done_on"
            )
        ),
        "dependencies": list(
            Dependency.objects.filter(portfolio=portfolio)
            .order_by("key")
            .values_list(
                "key",
                "title",
                "consumer__key",
                "provider__key",
                "needed_by_pi__name",
                "needed_by_iteration__number",
                "committed_pi__name",
                "committed_iteration__number",
                "state",
                "flag",
                "delivered_on",
                "consumer_feature__key",
                "provider_feature__key",
            )
        ),
        "reports": list(
            StatusReport.objects.filter(train__value_stream__portfolio=portfolio)
            .order_by("train__key", "created_at")
            .values_list("train__key", "created_at", "health", "pi_confidence", "summary")
        ),
        "points": list(
            IntegrationPoint.objects.filter(portfolio=portfolio)
            .order_by("name")
            .values_list("name", "date", "outcome", "depth")
        ),
    }


def rows_of(portfolio) -> dict[str, int]:
    return {
        "epics": Epic.objects.filter(portfolio=portfolio).count(),
        "trains": Train.objects.filter(value_stream__portfolio=portfolio).count(),
        "teams": Team.objects.filter(portfolio=portfolio).count(),
        "features": Feature.objects.filter(train__value_stream__portfolio=portfolio).count(),
        "dependencies": Dependency.objects.filter(portfolio=portfolio).count(),
        "reports": StatusReport.objects.filter(train__value_stream__portfolio=portfolio).count(),
        "memberships": Membership.objects.filter(portfolio=portfolio).count(),
        "points": IntegrationPoint.objects.filter(portfolio=portfolio).count(),
    }


@pytest.mark.django_db
def test_the_same_seed_and_day_give_the_same_data():
    first = build("seed-a")
    second = build("seed-b")
    assert snapshot(first.portfolio) == snapshot(second.portfolio)
    other_seed = build("seed-c", seed=2)
    assert snapshot(other_seed.portfolio)["epics"] != snapshot(first.portfolio)["epics"]


@pytest.mark.django_db
def test_running_twice_replaces_the_portfolio_without_duplicating():
    first = build()
    rows = rows_of(first.portfolio)
    users = User.objects.filter(username__startswith="seed-test-").count()
    out = io.StringIO()

    second = build(stdout=out)

    assert "replaced" in out.getvalue()
    assert not Portfolio.objects.filter(pk=first.portfolio.pk).exists()
    assert Portfolio.objects.filter(slug="seed-test").count() == 1
    assert rows_of(second.portfolio) == rows
    assert User.objects.filter(username__startswith="seed-test-").count() == users
    assert Cadence.objects.filter(name__startswith=second.portfolio.name).count() == 2
    assert second.counts.get("User", 0) == 0
    assert {k: v for k, v in second.counts.items() if k != "User"} == {
        k: v for k, v in first.counts.items() if k != "User"
    }


@pytest.mark.django_db
def test_counts_match_the_size_and_history_is_written_in_bulk():
    demo = build()
    size = SIZES["small"]
    portfolio = demo.portfolio
    assert demo.counts["Epic"] == Epic.objects.filter(portfolio=portfolio).count() == size.epics
    assert demo.counts["Feature"] == size.features
    assert demo.counts["Dependency"] == size.dependencies
    assert demo.counts["Capability"] == size.capabilities
    assert demo.counts["Team"] == size.teams
    assert Train.objects.filter(value_stream__portfolio=portfolio, kind=TrainKind.ART).count() == size.arts
    active = Epic.objects.filter(portfolio=portfolio).exclude(state__in=["funnel", "done"]).count()
    assert active == size.active_epics
    features = Feature.objects.filter(train__value_stream__portfolio=portfolio)
    history = Feature.history.filter(id__in=features.values("id"), history_type="+")
    assert history.count() == features.count() == demo.counts["HistoricalFeature"]
    # Timestamps come from the demo's own clock, before the first PI.
    first_pi = ProgramIncrement.objects.filter(cadence=portfolio.cadence).order_by("start_date").first()
    assert features.aggregate(latest=Max("created_at"))["latest"].date() < first_pi.start_date
    assert history.aggregate(latest=Max("history_date"))["latest"].date() < first_pi.start_date


@pytest.mark.django_db
def test_the_current_pi_contains_today_with_three_pis_before_and_eight_after():
    demo = build()
    pis = list(ProgramIncrement.objects.filter(cadence=demo.portfolio.cadence).order_by("start_date"))
    current = [pi for pi in pis if pi.contains(TODAY)]
    assert len(pis) == 12
    assert current == [pis[3]]
    assert Iteration.objects.filter(program_increment=current[0]).count() == 5
    assert Iteration.objects.filter(program_increment=current[0], is_innovation_planning=True).get().number == 5


def test_the_calendar_anchor_puts_todays_week_in_the_fourth_pi_on_any_day():
    for offset in range(2 * 366):
        today = datetime.date(2025, 1, 1) + datetime.timedelta(days=offset)
        builder = _DemoBuilder(size=SIZES["small"], seed=1, today=today, slug="x", user_prefix="", stdout=None)
        fourth = builder.grid_starts[3]
        monday = today - datetime.timedelta(days=today.weekday())
        assert fourth <= monday and today < fourth + datetime.timedelta(days=70), today
        assert fourth.weekday() == 0


@pytest.mark.django_db
def test_every_demo_user_has_its_role_and_train():
    demo = build()
    portfolio, users = demo.portfolio, demo.users
    names = demo_usernames("seed-test-")
    assert set(users) == {
        "apmo",
        "portfolio_manager",
        "enterprise_architect",
        "viewer",
        "rte",
        "other_rte",
        "ste",
        "automation",
    }
    assert {key: user.username for key, user in users.items()} == names
    roles = dict(Membership.objects.filter(portfolio=portfolio).values_list("user__username", "role"))
    assert roles[names["apmo"]] == Role.APMO
    assert roles[names["portfolio_manager"]] == Role.PORTFOLIO_MANAGER
    assert roles[names["enterprise_architect"]] == Role.ENTERPRISE_ARCHITECT
    for key in ("viewer", "rte", "other_rte", "ste"):
        assert roles[names[key]] == Role.VIEWER
    assert roles[names["automation"]] == Role.AUTOMATION
    for user in users.values():
        user.refresh_from_db()
        assert user.check_password(DEMO_PASSWORD)

    trains = Train.objects.filter(value_stream__portfolio=portfolio).select_related("solution_train__engineer")
    rte_art = trains.get(engineer=users["rte"])
    other_art = trains.get(engineer=users["other_rte"])
    assert rte_art.kind == other_art.kind == TrainKind.ART
    assert rte_art.solution_train.engineer == users["ste"]
    assert trains.get(engineer=users["ste"]).kind == TrainKind.SOLUTION
    assert other_art.value_stream_id != rte_art.value_stream_id
    for train in trains.exclude(engineer__in=[users["rte"], users["other_rte"], users["ste"]]):
        role = "rte" if train.kind == TrainKind.ART else "ste"
        assert train.engineer.username == f"seed-test-{role}-{train.key.lower()}"
        assert roles[train.engineer.username] == Role.VIEWER
    assert Token.objects.filter(user=users["automation"]).exists()


@pytest.mark.django_db
def test_the_rte_and_the_other_rte_depend_on_each_other_across_value_streams():
    demo = build()
    rte_art = Train.objects.get(engineer=demo.users["rte"], value_stream__portfolio=demo.portfolio)
    other_art = Train.objects.get(engineer=demo.users["other_rte"], value_stream__portfolio=demo.portfolio)
    dependencies = Dependency.objects.filter(portfolio=demo.portfolio)
    needed = dependencies.filter(consumer=rte_art, provider=other_art)
    given = dependencies.filter(consumer=other_art, provider=rte_art)
    assert needed.exists() and given.exists()
    # Something for each of them to act on as provider.
    assert given.filter(state=DependencyState.REQUESTED).exists()
    assert needed.filter(state__in=[DependencyState.ACCEPTED, DependencyState.COMMITTED]).exists()


@pytest.mark.django_db
def test_the_rows_follow_the_models_rules():
    demo = build()
    portfolio = demo.portfolio
    dependencies = Dependency.objects.filter(portfolio=portfolio).select_related(
        "needed_by_iteration", "committed_iteration", "consumer__value_stream", "provider__value_stream"
    )
    for dependency in dependencies:
        dependency.clean()
    assert (
        dependencies.filter(consumer_feature__isnull=False).exclude(consumer_feature__train=F("consumer")).count() == 0
    )
    assert (
        dependencies.filter(provider_feature__isnull=False).exclude(provider_feature__train=F("provider")).count() == 0
    )
    assert dependencies.filter(delivered_on__gte=TODAY).count() == 0
    cross = [d for d in dependencies if d.consumer.value_stream_id != d.provider.value_stream_id]
    assert len(cross) > len(dependencies) / 3
    assert {d.state for d in dependencies} >= {
        DependencyState.REQUESTED,
        DependencyState.ACCEPTED,
        DependencyState.COMMITTED,
        DependencyState.DELIVERED,
    }
    flagged = dependencies.exclude(flag=DependencyFlag.NONE)
    assert flagged.exists() and not flagged.filter(flag_reason="").exists()

    features = Feature.objects.filter(train__value_stream__portfolio=portfolio)
    assert (
        features.filter(iteration__isnull=False).exclude(iteration__program_increment=F("program_increment")).count()
        == 0
    )
    assert features.filter(state=WorkState.DONE, done_on__gte=TODAY).count() == 0
    assert features.filter(program_increment__start_date__gt=TODAY, state=WorkState.DONE).count() == 0
    assert features.filter(train__kind=TrainKind.SOLUTION).count() == 0

    results = IntegrationResult.objects.filter(integration_point__portfolio=portfolio).select_related(
        "integration_point"
    )
    assert results.exists()
    for result in results:
        assert result.recorded_at.date() == result.integration_point.date < TODAY

    pis = ProgramIncrement.objects.filter(cadence__name__startswith=portfolio.name)
    for pi in pis:
        pi.clean()
    offset = Train.objects.filter(value_stream__portfolio=portfolio, cadence__isnull=False).get()
    assert offset.cadence_id != portfolio.cadence_id
    assert (
        features.filter(train=offset)
        .exclude(program_increment__cadence=offset.cadence)
        .filter(program_increment__isnull=False)
        .count()
        == 0
    )


@pytest.mark.django_db
def test_status_reports_chain_weekly_and_a_few_trains_are_stale():
    demo = build()
    trains = Train.objects.filter(value_stream__portfolio=demo.portfolio).annotate(
        first=Min("status_reports__created_at"),
        latest=Max("status_reports__created_at"),
        reports=Count("status_reports"),
        firsts=Count("status_reports", filter=Q(status_reports__based_on__isnull=True)),
    )
    ages = []
    for train in trains:
        assert train.firsts == 1
        assert (train.latest - train.first).days >= 7 * (SIZES["small"].status_weeks - 2)
        ages.append((TODAY - train.latest.date()).days)
    reports = StatusReport.objects.filter(train__value_stream__portfolio=demo.portfolio).select_related("based_on")
    for report in reports:
        if report.based_on is not None:
            assert report.based_on.train_id == report.train_id
            assert report.based_on.created_at < report.created_at
    assert all(age >= 1 for age in ages)
    stale = [age for age in ages if age > 7]
    assert 1 <= len(stale) < len(ages) / 2


@pytest.mark.django_db
def test_the_command_loads_the_demo_and_lists_the_logins():
    out = io.StringIO()
    call_command(
        "seed_demo", "--today", "2026-11-23", "--slug", "cmd-demo", "--user-prefix", "cmd-", "--seed", "3", stdout=out
    )
    output = out.getvalue()
    portfolio = Portfolio.objects.get(slug="cmd-demo")
    assert portfolio.name in output
    assert DEMO_PASSWORD in output
    for username in demo_usernames("cmd-").values():
        assert username in output
    assert "features" in output and "dependencies" in output  # the progress lines
    assert ProgramIncrement.objects.filter(cadence=portfolio.cadence).current(datetime.date(2026, 11, 23)).exists()


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "23/11/2026"])
def test_a_bad_today_is_a_command_error(bad):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", bad, stdout=io.StringIO())


def test_medium_is_about_a_fifth_of_large():
    medium, large = SIZES["medium"], SIZES["large"]
    for name in SCALED_COUNTS:
        ratio = getattr(medium, name) / getattr(large, name)
        assert 0.15 <= ratio <= 0.25, name
    assert medium.program_increments == large.program_increments == 12
    assert medium.status_weeks == large.status_weeks == 104


def test_large_is_the_benchmark_size_of_the_design():
    large = SIZES["large"]
    assert (large.value_streams, large.solution_trains, large.arts, large.teams) == (8, 3, 40, 400)
    assert (large.epics, large.active_epics, large.capabilities, large.features) == (1500, 300, 4000, 24000)
    assert (large.dependencies, large.program_increments, large.integration_points) == (6000, 12, 300)
    assert large.status_weeks == 104  # two years of weekly reports
    assert len(VALUE_STREAMS) >= large.value_streams


def test_train_keys_are_unique_across_the_portfolio():
    # Generated RTE usernames are made from train keys.
    keys = [key for names in VALUE_STREAMS for _, key in [*names.art_names, names.solution_train_name]]
    assert len(keys) == len(set(keys))
