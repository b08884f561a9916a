"""Generating a cadence's PIs, and editing any single date of them."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cadence import services
from cadence.models import Cadence, CadenceEvent, CadenceEventKind, Iteration, ProgramIncrement
from cadence.services import plan_program_increment, program_increments_generate
from portfolio.core.concurrency import StaleVersion
from tests.cadence.conftest import make_cadence

pytestmark = pytest.mark.django_db

D = datetime.date
DAY = datetime.timedelta(days=1)
MONDAY = D(2027, 1, 4)


def events_of(pi, kind):
    return list(pi.events.filter(kind=kind).order_by("start_date"))


# --- The layout of one PI ------------------------------------------------------------


def test_a_planned_pi_has_its_iterations_back_to_back_the_last_an_ip_iteration():
    cadence = Cadence(start_date=MONDAY, iterations_per_pi=5, iteration_length_days=14, intake_cutoff_days=21)
    plan = plan_program_increment(cadence, number=1, start=MONDAY)
    assert [(it.number, it.start_date, it.end_date) for it in plan.iterations] == [
        (n, MONDAY + 14 * (n - 1) * DAY, MONDAY + (14 * n - 1) * DAY) for n in range(1, 6)
    ]
    assert [it.is_innovation_planning for it in plan.iterations] == [False] * 4 + [True]
    assert (plan.start_date, plan.end_date) == (MONDAY, D(2027, 3, 14))
    assert plan.planning_date == MONDAY
    assert plan.intake_cutoff == MONDAY - 21 * DAY


def test_a_planned_pi_has_planning_demos_inspect_and_adapt_and_portfolio_syncs():
    cadence = Cadence(start_date=MONDAY, iterations_per_pi=5, iteration_length_days=14, intake_cutoff_days=14)
    plan = plan_program_increment(cadence, number=1, start=MONDAY)
    by_kind = {}
    for event in plan.events:
        by_kind.setdefault(event.kind, []).append((event.start_date, event.end_date))
    # PI planning: the first two days.
    assert by_kind[CadenceEventKind.PI_PLANNING] == [(MONDAY, MONDAY + DAY)]
    # A system demo on the last weekday (the Friday) of each development iteration.
    assert by_kind[CadenceEventKind.SYSTEM_DEMO] == [
        (D(2027, 1, 15), D(2027, 1, 15)),
        (D(2027, 1, 29),) * 2,
        (D(2027, 2, 12),) * 2,
        (D(2027, 2, 26),) * 2,
    ]
    # The solution demo and inspect & adapt early in the IP iteration (1 Mar to 14 Mar).
    assert by_kind[CadenceEventKind.SOLUTION_DEMO] == [(D(2027, 3, 3), D(2027, 3, 3))]
    assert by_kind[CadenceEventKind.INSPECT_ADAPT] == [(D(2027, 3, 4), D(2027, 3, 5))]
    # Portfolio syncs every two weeks from the second week's Wednesday.
    assert [start for start, _ in by_kind[CadenceEventKind.PORTFOLIO_SYNC]] == [
        D(2027, 1, 13),
        D(2027, 1, 27),
        D(2027, 2, 10),
        D(2027, 2, 24),
        D(2027, 3, 10),
    ]
    assert all(start.weekday() < 5 for start, _ in sum(by_kind.values(), []))


def test_without_an_ip_iteration_every_iteration_has_a_system_demo_and_the_pi_ends_with_inspect_and_adapt():
    cadence = Cadence(start_date=MONDAY, iterations_per_pi=4, iteration_length_days=14, has_ip_iteration=False)
    plan = plan_program_increment(cadence, number=1, start=MONDAY)
    assert not any(it.is_innovation_planning for it in plan.iterations)
    demos = [e for e in plan.events if e.kind == CadenceEventKind.SYSTEM_DEMO]
    assert len(demos) == 4
    last_friday = D(2027, 2, 26)
    assert [e.start_date for e in plan.events if e.kind == CadenceEventKind.INSPECT_ADAPT] == [last_friday]
    assert all(e.start_date <= plan.end_date for e in plan.events)


# --- Generation -------------------------------------------------------------------------


def test_generation_writes_pis_with_their_iterations_events_and_cutoffs():
    cadence = make_cadence("Gen", MONDAY, pis=3, intake_cutoff_days=10)
    pis = list(cadence.program_increments.order_by("start_date"))
    assert [pi.number for pi in pis] == [1, 2, 3]
    assert [pi.name for pi in pis] == ["PI 27.1", "PI 27.2", "PI 27.3"]
    assert [pi.start_date for pi in pis] == [MONDAY, MONDAY + 70 * DAY, MONDAY + 140 * DAY]
    for pi in pis:
        assert pi.end_date == pi.start_date + 69 * DAY
        assert pi.planning_date == pi.start_date
        assert pi.intake_cutoff == pi.planning_date - 10 * DAY
        assert pi.iterations.count() == 5
        assert pi.iterations.get(number=5).is_innovation_planning
        assert len(events_of(pi, CadenceEventKind.SYSTEM_DEMO)) == 4
        assert len(events_of(pi, CadenceEventKind.PI_PLANNING)) == 1
        assert len(events_of(pi, CadenceEventKind.INSPECT_ADAPT)) == 1
        assert len(events_of(pi, CadenceEventKind.SOLUTION_DEMO)) == 1
        assert len(events_of(pi, CadenceEventKind.PORTFOLIO_SYNC)) == 5
    assert Iteration.objects.filter(program_increment__cadence=cadence).count() == 15
    assert CadenceEvent.objects.filter(program_increment__cadence=cadence).count() == 3 * 12


def test_each_generated_event_is_linked_to_the_iteration_it_falls_in_and_named_after_its_pi():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    for event in CadenceEvent.objects.filter(program_increment__cadence=cadence).select_related(
        "iteration", "program_increment"
    ):
        assert event.iteration.start_date <= event.start_date <= event.iteration.end_date
        assert event.name.startswith(event.program_increment.name)
    ia = CadenceEvent.objects.get(program_increment__cadence=cadence, kind=CadenceEventKind.INSPECT_ADAPT)
    assert ia.iteration.is_innovation_planning


def test_generation_records_the_audit_history():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    pi = cadence.program_increments.get()
    assert pi.history.count() == 1
    assert Iteration.history.filter(program_increment_id=pi.pk).count() == 5


def test_extending_continues_after_the_last_pi_even_a_moved_one():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    last = cadence.program_increments.get(number=2)
    ProgramIncrement.objects.filter(pk=last.pk).update(end_date=last.end_date + 7 * DAY)
    created = program_increments_generate(actor=None, cadence=cadence, count=2)
    assert [pi.number for pi in created] == [3, 4]
    assert created[0].start_date == last.end_date + 8 * DAY
    assert created[1].start_date == created[0].end_date + DAY


def test_extending_the_same_request_twice_adds_the_pis_once():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    first = program_increments_generate(actor=None, cadence=cadence, count=3, after_number=2)
    again = program_increments_generate(actor=None, cadence=cadence, count=3, after_number=2)
    assert [pi.number for pi in first] == [3, 4, 5]
    assert again == []
    assert cadence.program_increments.count() == 5
    # A request that saw only PI 4 adds what is missing of its four.
    more = program_increments_generate(actor=None, cadence=cadence, count=2, after_number=4)
    assert [pi.number for pi in more] == [6]


def test_the_first_generation_starts_on_the_cadence_start_date():
    cadence = make_cadence("Gen", D(2027, 9, 6), pis=0)
    [pi] = program_increments_generate(actor=None, cadence=cadence, count=1)
    assert (pi.number, pi.start_date, pi.name) == (1, D(2027, 9, 6), "PI 27.1")


def test_names_continue_the_years_numbering():
    cadence = make_cadence("Gen", D(2027, 9, 6), pis=3)
    assert [pi.name for pi in cadence.program_increments.order_by("start_date")] == ["PI 27.1", "PI 27.2", "PI 28.1"]


def test_generation_count_is_bounded():
    cadence = make_cadence("Gen", MONDAY, pis=0)
    with pytest.raises(ValidationError) as error:
        program_increments_generate(actor=None, cadence=cadence, count=13)
    assert "count" in error.value.message_dict


def test_only_an_apmo_of_a_portfolio_on_the_cadence_may_generate(calendar):
    world = calendar.world
    with pytest.raises(PermissionDenied):
        program_increments_generate(actor=world.user("viewer"), cadence=calendar.cadence, count=1)
    created = program_increments_generate(actor=world.user("apmo"), cadence=calendar.cadence, count=1)
    assert len(created) == 1
    assert created[0].history.get().history_user == world.user("apmo")


def test_cadence_create_generates_its_first_pis():
    cadence = services.cadence_create(
        actor=None,
        name="New",
        start_date=MONDAY,
        iterations_per_pi=6,
        iteration_length_days=14,
        has_ip_iteration=True,
        intake_cutoff_days=7,
        program_increments=2,
    )
    assert cadence.program_increments.count() == 2
    assert cadence.program_increments.first().end_date == MONDAY + 83 * DAY


# --- Editing a PI ------------------------------------------------------------------------


def pi_values(pi, **changes):
    values = {
        "name": pi.name,
        "start_date": pi.start_date,
        "end_date": pi.end_date,
        "planning_date": pi.planning_date,
        "intake_cutoff": pi.intake_cutoff,
    }
    return values | changes


def update_pi(pi, actor=None, version=None, move_contents=False, **changes):
    return services.program_increment_update(
        actor=actor,
        pi=pi,
        expected_version=pi.version if version is None else version,
        move_contents=move_contents,
        **pi_values(pi, **changes),
    )


def test_a_pi_end_moved_onto_the_next_pi_is_refused_on_the_end_date():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    first = cadence.program_increments.get(number=1)
    with pytest.raises(ValidationError) as error:
        update_pi(first, end_date=first.end_date + 3 * DAY)
    message = error.value.message_dict["end_date"][0]
    assert "would overlap PI 27.2" in message
    assert ProgramIncrement.objects.get(pk=first.pk).end_date == first.end_date


def test_a_pi_start_moved_onto_the_previous_pi_is_refused_on_the_start_date():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    second = cadence.program_increments.get(number=2)
    with pytest.raises(ValidationError) as error:
        update_pi(second, start_date=second.start_date - 2 * DAY, move_contents=True)
    assert "would overlap PI 27.1" in error.value.message_dict["start_date"][0]


def test_an_overlap_the_check_missed_is_caught_from_the_database_as_the_same_error(monkeypatch):
    """Two APMOs saving at once both pass the check; the database refuses the second
    (trigger or exclusion constraint), and the service reports it like the check would."""
    cadence = make_cadence("Gen", MONDAY, pis=2)
    first = cadence.program_increments.get(number=1)
    real = services._overlap_error
    calls = []

    def missed_first_time(pi):
        calls.append(pi)
        return None if len(calls) == 1 else real(pi)

    monkeypatch.setattr(services, "_overlap_error", missed_first_time)
    monkeypatch.setattr(ProgramIncrement, "clean", lambda self: None)
    with pytest.raises(ValidationError) as error:
        update_pi(first, end_date=first.end_date + 3 * DAY)
    assert len(calls) == 2
    assert "would overlap PI 27.2" in error.value.message_dict["end_date"][0]


def test_shrinking_a_pi_below_its_iterations_is_refused():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    pi = cadence.program_increments.get()
    with pytest.raises(ValidationError) as error:
        update_pi(pi, end_date=pi.end_date - 5 * DAY)
    assert "Iteration 5" in error.value.message_dict["end_date"][0]
    with pytest.raises(ValidationError) as error:
        update_pi(pi, start_date=pi.start_date + 2 * DAY)
    messages = error.value.message_dict["start_date"]
    assert any("Iteration 1" in m for m in messages)
    assert any("move its iterations and events" in m for m in messages)


def test_moving_a_pi_with_its_contents_moves_iterations_events_planning_and_cutoff():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    second = cadence.program_increments.get(number=2)
    before = {it.pk: (it.start_date, it.end_date) for it in second.iterations.all()}
    events = {e.pk: e.start_date for e in second.events.all()}
    saved = update_pi(
        second, start_date=second.start_date + 7 * DAY, end_date=second.end_date + 7 * DAY, move_contents=True
    )
    assert saved.version == second.version + 1
    assert saved.planning_date == second.planning_date + 7 * DAY
    assert saved.intake_cutoff == second.intake_cutoff + 7 * DAY
    for it in Iteration.objects.filter(pk__in=before):
        assert (it.start_date, it.end_date) == (before[it.pk][0] + 7 * DAY, before[it.pk][1] + 7 * DAY)
        assert it.version == 2
    for event in CadenceEvent.objects.filter(pk__in=events):
        assert event.start_date == events[event.pk] + 7 * DAY


def test_a_pi_edit_from_a_stale_version_is_refused_with_the_current_row():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    pi = cadence.program_increments.get()
    update_pi(pi, name="PI 27.1 Renamed")
    with pytest.raises(StaleVersion) as stale:
        update_pi(pi, version=1, name="Lost update")
    assert stale.value.current.name == "PI 27.1 Renamed"


def test_a_pi_name_is_unique_in_its_cadence():
    cadence = make_cadence("Gen", MONDAY, pis=2)
    first = cadence.program_increments.get(number=1)
    with pytest.raises(ValidationError) as error:
        update_pi(first, name="PI 27.2")
    assert "name" in error.value.message_dict


def test_an_intake_cutoff_after_planning_is_refused():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    pi = cadence.program_increments.get()
    with pytest.raises(ValidationError) as error:
        update_pi(pi, intake_cutoff=pi.planning_date + DAY)
    assert "intake_cutoff" in error.value.message_dict


def test_a_viewer_may_not_edit_a_pi(calendar):
    with pytest.raises(PermissionDenied):
        update_pi(calendar.current, actor=calendar.world.user("viewer"), name="No")
    saved = update_pi(calendar.current, actor=calendar.world.user("apmo"), name="Yes")
    assert saved.name == "Yes"


# --- Editing an iteration or an event --------------------------------------------------------


def update_iteration(iteration, **changes):
    values = {
        "start_date": iteration.start_date,
        "end_date": iteration.end_date,
        "is_innovation_planning": iteration.is_innovation_planning,
    } | changes
    return services.iteration_update(actor=None, iteration=iteration, expected_version=iteration.version, **values)


def test_an_iteration_running_into_the_next_one_is_refused_on_its_end_date():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    second = pi.iterations.get(number=2)
    with pytest.raises(ValidationError) as error:
        update_iteration(second, end_date=second.end_date + 2 * DAY)
    assert "Iteration 3" in error.value.message_dict["end_date"][0]
    assert "in order" in error.value.message_dict["end_date"][0]


def test_an_iteration_starting_before_the_one_before_it_ends_is_refused_on_its_start_date():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    third = pi.iterations.get(number=3)
    with pytest.raises(ValidationError) as error:
        update_iteration(third, start_date=third.start_date - 20 * DAY)
    assert "would not start after iteration 2 ends" in error.value.message_dict["start_date"][0]


def test_an_iteration_outside_its_pi_is_refused():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    last = pi.iterations.get(number=5)
    with pytest.raises(ValidationError) as error:
        update_iteration(last, end_date=pi.end_date + DAY)
    assert "would end after its PI ends" in error.value.message_dict["end_date"][0]


def test_events_follow_the_iteration_their_day_falls_in_when_iterations_move():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    second, third = pi.iterations.get(number=2), pi.iterations.get(number=3)
    demo = pi.events.get(kind=CadenceEventKind.SYSTEM_DEMO, start_date=D(2027, 1, 29))
    assert demo.iteration_id == second.pk
    update_iteration(second, end_date=D(2027, 1, 27))
    demo.refresh_from_db()
    assert demo.iteration is None  # between iterations now
    update_iteration(third, start_date=D(2027, 1, 28))
    demo.refresh_from_db()
    assert demo.iteration_id == third.pk
    assert demo.version == 3


def update_event(event, **changes):
    values = {"name": event.name, "kind": event.kind, "start_date": event.start_date, "end_date": event.end_date}
    return services.cadence_event_update(actor=None, event=event, expected_version=event.version, **values | changes)


def test_an_event_moves_within_its_pi_and_follows_its_iteration():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    event = pi.events.get(kind=CadenceEventKind.SOLUTION_DEMO)
    moved = update_event(event, start_date=D(2027, 2, 25), end_date=D(2027, 2, 25))
    assert moved.iteration.number == 4
    assert moved.version == 2


def test_an_event_outside_its_pi_is_refused():
    pi = make_cadence("Gen", MONDAY, pis=1).program_increments.get()
    event = pi.events.get(kind=CadenceEventKind.INSPECT_ADAPT)
    with pytest.raises(ValidationError) as error:
        update_event(event, end_date=pi.end_date + DAY)
    assert "end_date" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        update_event(event, start_date=pi.start_date - DAY)
    assert "start_date" in error.value.message_dict


# --- The cadence's definition -------------------------------------------------------------


def test_the_start_date_of_a_cadence_with_pis_cannot_move():
    cadence = make_cadence("Gen", MONDAY, pis=1)
    values = {
        "name": cadence.name,
        "start_date": MONDAY + 7 * DAY,
        "iterations_per_pi": 6,
        "iteration_length_days": 14,
        "has_ip_iteration": True,
        "intake_cutoff_days": 14,
    }
    with pytest.raises(ValidationError) as error:
        services.cadence_update(actor=None, cadence=cadence, expected_version=1, **values)
    assert "start_date" in error.value.message_dict
    saved = services.cadence_update(actor=None, cadence=cadence, expected_version=1, **values | {"start_date": MONDAY})
    assert saved.iterations_per_pi == 6
    [next_pi] = program_increments_generate(actor=None, cadence=saved, count=1)
    assert next_pi.iterations.count() == 6


# --- Feed tokens -----------------------------------------------------------------------------


def test_a_feed_token_is_made_once_and_replaced_on_reset(world):
    user = world.user("viewer")
    token = services.calendar_feed_token_for(user=user).token
    assert len(token) >= 40
    assert services.calendar_feed_token_for(user=user).token == token
    reset = services.calendar_feed_token_reset(user=user)
    assert reset.token != token
    assert reset.reset_at is not None
