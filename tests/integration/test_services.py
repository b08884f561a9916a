"""The services: recording checks once per window, outcome changes and their emails,
results (idempotent), proposals from the cadence, creating and editing points."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError

from integration import selectors, services
from integration.models import (
    AcceptanceCriterion,
    Depth,
    IntegrationCheckRun,
    IntegrationOutcomeChange,
    IntegrationPoint,
    IntegrationResult,
    Outcome,
)
from portfolio.core.concurrency import StaleVersion
from tests.factories import (
    IntegrationPointFactory,
    PortfolioFactory,
    ProgramIncrementFactory,
    SolutionTrainFactory,
    TrainFactory,
    ValueStreamFactory,
)

from .conftest import NOW, WINDOW, make_ready, with_emails

pytestmark = pytest.mark.django_db


def run_check(point_ids, *, now=NOW, window=WINDOW):
    return services.integration_points_check(point_ids=point_ids, window_start=window, now=now)


# --- Check windows ------------------------------------------------------------------------


def test_the_window_is_the_schedule_interval_now_falls_in():
    assert services.check_window_start(NOW) == WINDOW
    assert services.check_window_start(WINDOW) == WINDOW
    assert services.check_window_start(WINDOW - datetime.timedelta(microseconds=1)) == WINDOW - datetime.timedelta(
        minutes=15
    )
    assert services.check_window_start(NOW, minutes=60) == datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


def test_the_window_follows_the_interval_an_apmo_set_in_the_admin():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    assert services.check_window_minutes() == 15
    task = PeriodicTask.objects.get(task="integration.dispatch_checks")
    task.interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task.save()
    assert services.check_window_minutes() == 60


# --- Recording checks -----------------------------------------------------------------------


def test_a_check_records_a_run_with_its_findings_and_sets_the_outcome(point_world):
    point = point_world.point
    report = run_check([point.pk])
    assert (report.checked, report.skipped, report.changed) == (1, 0, 1)
    run = IntegrationCheckRun.objects.get(integration_point=point)
    assert (run.window_start, run.ran_at, run.outcome) == (WINDOW, NOW, Outcome.NOT_READY)
    assert {finding["kind"] for finding in run.findings} == {
        "dependency_not_delivered",
        "feature_not_done",
        "criterion_not_met",
    }
    point.refresh_from_db()
    assert (point.outcome, point.last_checked_at) == (Outcome.NOT_READY, NOW)
    change = IntegrationOutcomeChange.objects.get(integration_point=point)
    assert (change.from_outcome, change.to_outcome, change.check_run) == (Outcome.PENDING, Outcome.NOT_READY, run)


def test_a_check_run_twice_in_the_same_window_records_one_run(point_world):
    point = point_world.point
    run_check([point.pk])
    make_ready(point_world)  # whatever changed meanwhile, the window's result stands
    again = run_check([point.pk], now=NOW + datetime.timedelta(minutes=5))
    assert (again.checked, again.skipped, again.changed) == (0, 1, 0)
    assert IntegrationCheckRun.objects.filter(integration_point=point).count() == 1
    point.refresh_from_db()
    assert point.outcome == Outcome.NOT_READY


def test_the_next_window_records_a_new_run(point_world):
    point = point_world.point
    run_check([point.pk])
    make_ready(point_world)
    later = NOW + datetime.timedelta(minutes=15)
    report = run_check([point.pk], now=later, window=WINDOW + datetime.timedelta(minutes=15))
    assert (report.checked, report.changed) == (1, 1)
    assert list(point.check_runs.values_list("outcome", flat=True)) == [Outcome.READY, Outcome.NOT_READY]


def test_a_run_recorded_by_another_worker_meanwhile_wins_and_the_rest_are_checked(point_world, world, monkeypatch):
    """The race: both workers read "no run yet", the other inserts first. The insert
    collides on the unique constraint, the batch rolls back whole, and the second
    attempt skips the point the other worker recorded."""
    point = point_world.point
    other = IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi)
    real = services.checks.evaluate
    raced = []

    def evaluate_while_another_worker_records(loaded, **kwargs):
        if not raced:
            raced.append(True)
            IntegrationCheckRun.objects.create(
                integration_point=point, window_start=WINDOW, ran_at=NOW, outcome=Outcome.AT_RISK
            )
        return real(loaded, **kwargs)

    monkeypatch.setattr(services.checks, "evaluate", evaluate_while_another_worker_records)
    report = run_check([point.pk, other.pk])
    assert (report.checked, report.skipped) == (1, 1)
    assert IntegrationCheckRun.objects.filter(window_start=WINDOW, integration_point__in=[point, other]).count() == 2
    assert IntegrationCheckRun.objects.get(integration_point=point).outcome == Outcome.AT_RISK  # theirs
    point.refresh_from_db()
    assert point.outcome == Outcome.PENDING  # applied by the worker that recorded it, not by this one
    assert IntegrationOutcomeChange.objects.filter(integration_point=other).count() == 1


def test_the_database_refuses_a_second_run_in_a_window(point):
    IntegrationCheckRun.objects.create(integration_point=point, window_start=WINDOW, ran_at=NOW, outcome="ready")
    with pytest.raises(IntegrityError):
        IntegrationCheckRun.objects.create(integration_point=point, window_start=WINDOW, ran_at=NOW, outcome="ready")


def test_a_late_retry_of_an_earlier_window_never_moves_the_last_check_back(point_world):
    point = point_world.point
    run_check([point.pk], now=NOW, window=WINDOW)
    earlier = WINDOW - datetime.timedelta(minutes=15)
    run_check([point.pk], now=NOW - datetime.timedelta(minutes=10), window=earlier)
    point.refresh_from_db()
    assert point.last_checked_at == NOW


# --- Outcome changes and their emails -----------------------------------------------------


def test_an_outcome_change_emails_the_participants_once(point_world, world, django_capture_on_commit_callbacks):
    with_emails(world)
    point = point_world.point
    run_check([point.pk])  # pending → not ready: the first check is no news
    assert mail.outbox == []
    make_ready(point_world)
    with django_capture_on_commit_callbacks(execute=True):
        report = run_check([point.pk], window=WINDOW + datetime.timedelta(minutes=15))
    assert report.changed == 1
    [message] = mail.outbox
    # The RTEs of both ARTs, the STE (solution train of the ART, and the point's own), APMO.
    assert sorted(message.to) == [
        "apmo@bank.example",
        "other_rte@bank.example",
        "rte@bank.example",
        "ste@bank.example",
    ]
    assert "Not ready → Ready" in message.subject
    assert f"/integration/{point.pk}/" in message.body
    change = point.outcome_changes.get(to_outcome=Outcome.READY)
    assert change.notified_at is not None
    from integration.tasks import notify_outcome_change

    assert notify_outcome_change(change.pk) == 0  # run twice: mailed once
    assert len(mail.outbox) == 1


def test_an_unchanged_outcome_sends_no_email(point_world, world, django_capture_on_commit_callbacks):
    with_emails(world)
    point = point_world.point
    run_check([point.pk])
    with django_capture_on_commit_callbacks(execute=True):
        report = run_check([point.pk], window=WINDOW + datetime.timedelta(minutes=15))
    assert (report.checked, report.changed) == (1, 0)
    assert mail.outbox == []
    assert point.outcome_changes.count() == 1


def test_the_email_lists_the_findings(point_world, world, django_capture_on_commit_callbacks):
    with_emails(world)
    point = point_world.point
    IntegrationPoint.objects.filter(pk=point.pk).update(outcome=Outcome.READY)
    with django_capture_on_commit_callbacks(execute=True):
        run_check([point.pk])
    [message] = mail.outbox
    assert "Ready → Not ready" in message.subject
    assert "DEP-1 Credit limit API" in message.body


def test_a_mail_server_that_refuses_releases_the_claim_for_the_retry(point_world, world, monkeypatch):
    with_emails(world)
    point = point_world.point
    IntegrationPoint.objects.filter(pk=point.pk).update(outcome=Outcome.READY)
    run_check([point.pk])  # the notification is not run: no on-commit here
    change = point.outcome_changes.get()

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with pytest.raises(OSError):
        services.outcome_change_notify(change.pk)
    change.refresh_from_db()
    assert change.notified_at is None
    monkeypatch.undo()
    assert services.outcome_change_notify(change.pk) == 1


def test_changes_whose_email_was_never_queued_are_found_again(point_world):
    point = point_world.point
    IntegrationPoint.objects.filter(pk=point.pk).update(outcome=Outcome.READY)
    run_check([point.pk])
    change = point.outcome_changes.get()
    later = NOW + datetime.timedelta(minutes=10)
    assert services.unsent_outcome_changes(now=later, within=datetime.timedelta(days=1)) == [change.pk]
    assert services.unsent_outcome_changes(now=NOW, within=datetime.timedelta(days=1)) == []  # just made


# --- Sweeps -----------------------------------------------------------------------------


def test_the_due_points_are_upcoming_or_passed_in_the_last_two_weeks(world, point):
    def on(days):
        return IntegrationPointFactory(
            portfolio=world.portfolio, program_increment=world.pi, date=NOW.date() + datetime.timedelta(days=days)
        ).pk

    due = {on(0), on(-14), on(120), point.pk}
    not_due = {on(-15), on(121)}
    ours = set(selectors.point_ids_due_for_check(today=NOW.date())) & (due | not_due)
    assert ours == due


def test_a_sweep_checks_the_points_in_batches(world, point):
    other = IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi, date=NOW.date())
    report = services.integration_points_sweep(now=NOW, point_ids=[point.pk, other.pk], batch_size=1)
    assert (report.points, report.batches, report.checked) == (2, 2, 2)
    again = services.integration_points_sweep(now=NOW + datetime.timedelta(minutes=1), point_ids=[point.pk, other.pk])
    assert (again.checked, again.skipped) == (0, 2)


@pytest.mark.parametrize("demo", ["small", "medium"], indirect=True)
def test_a_batch_of_checks_costs_the_same_queries_on_small_and_medium(demo, django_assert_max_num_queries):
    ids = list(IntegrationPoint.objects.filter(portfolio=demo.portfolio).values_list("pk", flat=True)[:50])
    assert len(ids) >= 20
    with django_assert_max_num_queries(20):
        report = run_check(ids, now=NOW)
    assert report.checked == len(ids)


# --- Results ------------------------------------------------------------------------------


def test_recording_a_result_makes_the_point_passed_and_mails_the_change(
    point_world, world, django_capture_on_commit_callbacks
):
    with_emails(world)
    point = point_world.point
    run_check([point.pk])
    with django_capture_on_commit_callbacks(execute=True):
        recorded = services.integration_result_record(
            actor=world.user("ste"), point=point, verdict="pass", notes="All green."
        )
    assert recorded.created
    point.refresh_from_db()
    assert point.outcome == Outcome.PASSED
    change = IntegrationOutcomeChange.objects.get(result=recorded.result)
    assert (change.from_outcome, change.to_outcome) == (Outcome.NOT_READY, Outcome.PASSED)
    [message] = mail.outbox
    assert "recorded the result “Pass”" in message.body
    assert "ste@bank.example" not in message.to  # who recorded it knows
    assert "apmo@bank.example" in message.to


def test_the_next_check_keeps_the_recorded_result(point_world, world):
    point = point_world.point
    services.integration_result_record(actor=world.user("apmo"), point=point, verdict="fail")
    run_check([point.pk])
    point.refresh_from_db()
    assert point.outcome == Outcome.FAILED
    assert point.check_runs.get().outcome == Outcome.FAILED


def test_the_same_idempotency_key_records_once(point, world):
    first = services.integration_result_record(
        actor=world.user("apmo"), point=point, verdict="pass", notes="ok", idempotency_key="run-7"
    )
    retry = services.integration_result_record(
        actor=world.user("apmo"), point=point, verdict="pass", notes="ok", idempotency_key="run-7"
    )
    assert (first.created, retry.created) == (True, False)
    assert retry.result == first.result
    assert point.results.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(point, world):
    services.integration_result_record(actor=world.user("apmo"), point=point, verdict="pass", idempotency_key="k")
    with pytest.raises(services.IdempotencyConflict) as refused:
        services.integration_result_record(actor=world.user("apmo"), point=point, verdict="fail", idempotency_key="k")
    assert refused.value.differences == ["verdict"]
    assert point.results.count() == 1


def test_two_identical_requests_at_once_record_once(point, world, monkeypatch):
    """Both read "no result with this key"; the unique constraint stops the second."""
    real_filter = IntegrationResult.objects.filter
    calls = []

    def filter_before_the_other_commits(*args, **kwargs):
        if kwargs.get("idempotency_key") == "k" and not calls:
            calls.append(True)
            IntegrationResult.objects.create(integration_point=point, verdict="pass", idempotency_key="k")
            return IntegrationResult.objects.none()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(IntegrationResult.objects, "filter", filter_before_the_other_commits)
    recorded = services.integration_result_record(
        actor=world.user("apmo"), point=point, verdict="pass", idempotency_key="k"
    )
    assert not recorded.created
    assert point.results.count() == 1


@pytest.mark.parametrize("role", ["viewer", "rte", "other_rte", "portfolio_manager", "enterprise_architect"])
def test_only_apmo_and_involved_stes_record_results(point, world, role):
    with pytest.raises(PermissionDenied):
        services.integration_result_record(actor=world.user(role), point=point, verdict="pass")


def test_the_ste_of_a_participating_arts_solution_train_records_results(world):
    """The point is APMO's (no solution train), but an ART of the STE's solution train takes part."""
    point = IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi)
    point.trains.set([world.art])
    assert services.integration_result_record(actor=world.user("ste"), point=point, verdict="pass").created


def test_another_solution_trains_ste_may_not_record(point, world):
    other_ste = world.user("other_rte")
    SolutionTrainFactory(value_stream=world.other_value_stream, engineer=other_ste)
    with pytest.raises(PermissionDenied):
        services.integration_result_record(actor=other_ste, point=point, verdict="pass")


# --- Points and criteria -----------------------------------------------------------------------


def test_apmo_creates_a_point_with_its_checklist(world):
    point = services.integration_point_create(
        actor=world.user("apmo"),
        portfolio=world.portfolio,
        name="PI 26.4 · Solution demo",
        date=world.pi.end_date,
        program_increment=world.pi,
        depth=Depth.FULL,
        trains=[world.art, world.other_art],
        value_streams=[world.value_stream],
        criteria=services.criteria_from_lines("- Smoke tests green\n\n* Demo recorded\n"),
    )
    assert point.outcome == Outcome.PENDING
    assert list(point.criteria.values_list("text", "position")) == [("Smoke tests green", 1), ("Demo recorded", 2)]
    assert set(point.trains.all()) == {world.art, world.other_art}


def test_an_ste_creates_points_of_their_solution_train_only(world):
    arguments = {"portfolio": world.portfolio, "name": "X", "date": world.pi.end_date, "program_increment": world.pi}
    with pytest.raises(PermissionDenied):
        services.integration_point_create(actor=world.user("ste"), **arguments)
    point = services.integration_point_create(actor=world.user("ste"), solution_train=world.solution_train, **arguments)
    assert point.solution_train == world.solution_train
    with pytest.raises(PermissionDenied):
        services.integration_point_create(actor=world.user("rte"), solution_train=world.solution_train, **arguments)


def test_a_point_names_only_things_of_its_portfolio(world):
    elsewhere = PortfolioFactory()
    stranger = TrainFactory(value_stream=ValueStreamFactory(portfolio=elsewhere))
    foreign_pi = ProgramIncrementFactory(cadence=elsewhere.cadence)
    with pytest.raises(ValidationError) as refused:
        services.integration_point_create(
            actor=world.user("apmo"),
            portfolio=world.portfolio,
            name="X",
            date=world.pi.end_date,
            program_increment=foreign_pi,
            trains=[world.art, stranger],
        )
    assert set(refused.value.message_dict) == {"program_increment", "trains"}


def test_an_edit_against_an_old_version_is_refused(point, world):
    services.integration_point_update(actor=world.user("apmo"), point=point, expected_version=1, name="Renamed")
    with pytest.raises(StaleVersion) as stale:
        services.integration_point_update(actor=world.user("ste"), point=point, expected_version=1, name="Mine")
    assert stale.value.current.name == "Renamed"


def test_an_ste_may_not_hand_the_point_to_a_solution_train_that_is_not_theirs(point, world):
    other = SolutionTrainFactory(value_stream=world.other_value_stream, engineer=world.user("other_rte"))
    with pytest.raises(PermissionDenied):
        services.integration_point_update(
            actor=world.user("ste"), point=point, expected_version=None, solution_train=other
        )


def test_editing_the_checklist_keeps_the_ticks_of_criteria_kept(point_world, world):
    point = point_world.point
    AcceptanceCriterion.objects.filter(text="Demo recorded").update(met=True)
    services.integration_point_update(
        actor=world.user("apmo"),
        point=point,
        expected_version=None,
        criteria=services.criteria_from_lines("Demo recorded\nSecurity scan clean"),
    )
    assert list(point.criteria.order_by("position").values_list("text", "met")) == [
        ("Demo recorded", True),
        ("Security scan clean", False),
    ]


def test_ticking_a_criterion_is_versioned(point_world, world):
    criterion = point_world.criteria[0]
    ticked = services.criterion_set_met(actor=world.user("ste"), criterion=criterion, met=True, expected_version=1)
    assert ticked.met and ticked.version == 2
    with pytest.raises(StaleVersion):
        services.criterion_set_met(actor=world.user("apmo"), criterion=criterion, met=False, expected_version=1)
    with pytest.raises(PermissionDenied):
        services.criterion_set_met(actor=world.user("rte"), criterion=criterion, met=False, expected_version=2)


# --- Proposals from the cadence -------------------------------------------------------------------


def test_a_pi_proposes_a_partial_point_per_iteration_and_a_full_one_at_its_end(world):
    proposal = services.integration_points_propose(
        actor=world.user("apmo"), portfolio=world.portfolio, program_increment=world.pi
    )
    points = sorted(proposal.created, key=lambda p: p.date)
    # Five iterations, the last an IP iteration: partial points after I1-I4, a full one at the end.
    assert [(p.name, p.depth) for p in points] == [
        ("PI 26.4 · I1 integration", Depth.PARTIAL),
        ("PI 26.4 · I2 integration", Depth.PARTIAL),
        ("PI 26.4 · I3 integration", Depth.PARTIAL),
        ("PI 26.4 · I4 integration", Depth.PARTIAL),
        ("PI 26.4 · PI integration", Depth.FULL),
    ]
    assert points[-1].date == world.pi.end_date
    assert points[0].date == world.pi.iterations.get(number=1).end_date
    assert set(points[0].trains.all()) == {world.solution_train, world.art, world.other_art}
    assert points[-1].criteria.count() == 3


def test_proposing_twice_creates_nothing_more(world):
    apmo = world.user("apmo")
    services.integration_points_propose(actor=apmo, portfolio=world.portfolio, program_increment=world.pi)
    again = services.integration_points_propose(actor=apmo, portfolio=world.portfolio, program_increment=world.pi)
    assert (len(again.created), len(again.existing)) == (0, 5)
    assert IntegrationPoint.objects.filter(portfolio=world.portfolio).count() == 5


def test_an_ste_proposes_for_their_solution_train(world):
    proposal = services.integration_points_propose(
        actor=world.user("ste"),
        portfolio=world.portfolio,
        program_increment=world.pi,
        solution_train=world.solution_train,
    )
    point = proposal.created[-1]
    assert point.name == "PI 26.4 · PI integration · CPS"
    assert point.solution_train == world.solution_train
    assert set(point.trains.all()) == {world.solution_train, world.art}
    with pytest.raises(PermissionDenied):
        services.integration_points_propose(
            actor=world.user("ste"), portfolio=world.portfolio, program_increment=world.pi
        )
