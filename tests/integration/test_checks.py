"""The check of an integration point: each kind of finding, and the outcome rule."""

import datetime

import pytest

from integration.checks import NOT_READY_WITHIN_DAYS, Finding, FindingKind, evaluate, outcome_of
from integration.models import IntegrationResult, Outcome, ResultVerdict
from integration.selectors import points_for_check
from tests.factories import StatusReportFactory
from valuestreams.models import DependencyFlag, DependencyState, Health, WorkState

from .conftest import NOW, TODAY, make_ready, report

pytestmark = pytest.mark.django_db


def check(point, *, now=NOW):
    [loaded] = points_for_check([point.pk])
    return evaluate(loaded, now=now)


def kinds(evaluation):
    return sorted(str(finding.kind) for finding in evaluation.findings)


def test_a_point_with_everything_delivered_done_and_met_is_ready(point_world):
    make_ready(point_world)
    evaluation = check(point_world.point)
    assert evaluation.findings == []
    assert evaluation.outcome == Outcome.READY


def test_an_undelivered_dependency_is_a_blocking_finding_naming_it(point_world):
    make_ready(point_world)
    point_world.dependency.state = DependencyState.COMMITTED
    point_world.dependency.delivered_on = None
    point_world.dependency.flag = DependencyFlag.BLOCKED
    point_world.dependency.save()
    [finding] = check(point_world.point).findings
    assert finding.kind == FindingKind.DEPENDENCY_NOT_DELIVERED
    assert finding.blocking
    assert finding.refs == {"dependency": [point_world.dependency.pk]}
    assert "DEP-1 Credit limit API" in finding.message
    assert "committed" in finding.message and "flagged blocked" in finding.message


def test_a_late_or_cancelled_dependency_says_so(point_world, world):
    make_ready(point_world)
    point_world.dependency.state = DependencyState.CANCELLED
    point_world.dependency.delivered_on = None
    point_world.dependency.save()
    [finding] = check(point_world.point, now=datetime.datetime(2026, 12, 20, tzinfo=datetime.UTC)).findings[:1]
    assert "will not be delivered" in finding.message


@pytest.mark.parametrize(
    ("health", "kind", "blocking"),
    [(Health.OFF_TRACK, FindingKind.TRAIN_OFF_TRACK, True), (Health.AT_RISK, FindingKind.TRAIN_AT_RISK, False)],
)
def test_a_train_off_track_or_at_risk_is_found(point_world, world, health, kind, blocking):
    make_ready(point_world)
    report(world.other_art, health, at=NOW - datetime.timedelta(hours=2))
    [finding] = check(point_world.point).findings
    assert finding.kind == kind
    assert finding.blocking is blocking
    assert finding.refs == {"train": [world.other_art.pk]}


def test_a_train_whose_latest_status_is_older_than_the_portfolio_allows_is_stale(point_world, world):
    make_ready(point_world)
    world.portfolio.status_stale_days = 3
    world.portfolio.save()
    world.art.status_reports.update(created_at=NOW - datetime.timedelta(days=5))
    evaluation = check(point_world.point)
    assert kinds(evaluation) == ["train_status_stale"]
    assert "Card Issuing ART" in evaluation.findings[0].message
    assert not evaluation.findings[0].blocking


def test_a_train_without_any_status_is_stale(point_world, world):
    make_ready(point_world)
    point_world.point.trains.add(world.solution_train)
    evaluation = check(point_world.point)
    assert kinds(evaluation) == ["train_status_stale"]
    assert "has not reported a status yet" in evaluation.findings[0].message


def test_a_required_feature_not_done_is_a_blocking_finding(point_world):
    make_ready(point_world)
    feature = point_world.features[1]
    feature.state, feature.done_on = WorkState.IMPLEMENTING, None
    feature.save()
    [finding] = check(point_world.point).findings
    assert finding.kind == FindingKind.FEATURE_NOT_DONE
    assert finding.blocking
    assert finding.refs == {"feature": [feature.pk]}
    assert "LOA-1 Loan offer" in finding.message and "implementing" in finding.message


def test_each_criterion_not_met_is_a_warning(point_world):
    make_ready(point_world)
    point_world.point.criteria.filter(text="Demo recorded").update(met=False)
    [finding] = check(point_world.point).findings
    assert finding.kind == FindingKind.CRITERION_NOT_MET
    assert not finding.blocking
    assert finding.message == "Not met yet: Demo recorded"


def test_a_passed_date_without_a_result_is_found_and_missed(point_world, world):
    make_ready(point_world)
    world.portfolio.status_stale_days = 60
    world.portfolio.save()
    after = NOW + datetime.timedelta(days=15)
    evaluation = check(point_world.point, now=after)
    assert kinds(evaluation) == ["date_passed_without_result"]
    assert evaluation.outcome == Outcome.MISSED


def test_the_date_itself_is_not_missed_yet(point_world, world):
    make_ready(point_world)
    world.portfolio.status_stale_days = 60
    world.portfolio.save()
    on_the_day = datetime.datetime.combine(point_world.point.date, datetime.time(9), tzinfo=datetime.UTC)
    assert check(point_world.point, now=on_the_day).outcome == Outcome.READY


@pytest.mark.parametrize(
    ("verdict", "outcome"), [(ResultVerdict.PASS, Outcome.PASSED), (ResultVerdict.FAIL, Outcome.FAILED)]
)
def test_the_latest_result_decides_even_with_findings_and_after_the_date(point_world, verdict, outcome):
    IntegrationResult.objects.create(integration_point=point_world.point, verdict=ResultVerdict.FAIL)
    IntegrationResult.objects.create(integration_point=point_world.point, verdict=verdict)
    evaluation = check(point_world.point, now=NOW + datetime.timedelta(days=30))
    assert evaluation.outcome == outcome
    assert evaluation.findings  # still listed, for the record
    assert FindingKind.DATE_PASSED_WITHOUT_RESULT not in [f.kind for f in evaluation.findings]


def test_blocking_findings_two_weeks_or_less_before_the_date_make_it_not_ready(point_world):
    # Everything open, 14 days before the date.
    assert (point_world.point.date - TODAY).days == NOT_READY_WITHIN_DAYS
    assert check(point_world.point).outcome == Outcome.NOT_READY


def test_blocking_findings_with_time_left_make_it_at_risk(point_world):
    earlier = NOW - datetime.timedelta(days=1)
    assert check(point_world.point, now=earlier).outcome == Outcome.AT_RISK


def test_warnings_alone_make_it_at_risk_even_close_to_the_date(point_world):
    make_ready(point_world)
    point_world.point.criteria.update(met=False)
    the_day_before = NOW + datetime.timedelta(days=13)
    assert check(point_world.point, now=the_day_before).outcome == Outcome.AT_RISK


def test_the_outcome_rule_in_isolation():
    day = datetime.date(2026, 12, 1)
    blocking = [Finding(FindingKind.FEATURE_NOT_DONE, "x")]
    warning = [Finding(FindingKind.CRITERION_NOT_MET, "y")]

    def rule(findings, *, days_before, verdict=None):
        return outcome_of(
            date=day, today=day - datetime.timedelta(days=days_before), findings=findings, latest_verdict=verdict
        )

    assert rule([], days_before=30) == Outcome.READY
    assert rule(warning, days_before=30) == Outcome.AT_RISK
    assert rule(blocking, days_before=15) == Outcome.AT_RISK
    assert rule(blocking, days_before=14) == Outcome.NOT_READY
    assert rule(blocking, days_before=0) == Outcome.NOT_READY
    assert rule([], days_before=-1) == Outcome.MISSED
    assert rule(blocking, days_before=-1, verdict=ResultVerdict.PASS) == Outcome.PASSED
    assert rule([], days_before=5, verdict=ResultVerdict.FAIL) == Outcome.FAILED


def test_findings_are_stored_as_plain_json():
    finding = Finding(FindingKind.DEPENDENCY_NOT_DELIVERED, "DEP-1 not delivered", {"dependency": [1]})
    assert finding.as_json() == {
        "kind": "dependency_not_delivered",
        "severity": "blocking",
        "message": "DEP-1 not delivered",
        "refs": {"dependency": [1]},
    }


def test_a_batch_of_points_loads_in_a_fixed_number_of_queries(point_world, world, django_assert_num_queries):
    from tests.factories import IntegrationPointFactory

    others = [IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi) for _ in range(3)]
    for other in others:
        other.trains.set([world.art, world.solution_train])
        other.dependencies.set([point_world.dependency])
    StatusReportFactory(train=world.solution_train, author=None, created_at=NOW)
    with django_assert_num_queries(5):
        points = points_for_check([point_world.point.pk, *(o.pk for o in others)])
        for loaded in points:
            evaluate(loaded, now=NOW)
