import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cadence.models import CadenceEvent, Iteration, ProgramIncrement
from tests.factories import CadenceFactory, ProgramIncrementFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def make_pi(cadence, number, start, end):
    return ProgramIncrement(
        cadence=cadence,
        number=number,
        name=f"PI {number}",
        start_date=start,
        end_date=end,
        planning_date=start,
        intake_cutoff=start - datetime.timedelta(days=7),
    )


def test_database_refuses_overlapping_pis_of_one_cadence():
    cadence = CadenceFactory()
    make_pi(cadence, 1, D(2026, 1, 5), D(2026, 3, 15)).save()
    with pytest.raises(IntegrityError, match="no_overlap"), transaction.atomic():
        make_pi(cadence, 2, D(2026, 3, 15), D(2026, 5, 24)).save()


def test_database_refuses_moving_a_pi_onto_another():
    cadence = CadenceFactory()
    make_pi(cadence, 1, D(2026, 1, 5), D(2026, 3, 15)).save()
    second = make_pi(cadence, 2, D(2026, 3, 16), D(2026, 5, 24))
    second.save()
    with pytest.raises(IntegrityError, match="no_overlap"), transaction.atomic():
        ProgramIncrement.objects.filter(pk=second.pk).update(start_date=D(2026, 3, 1))


def test_pis_of_different_cadences_may_overlap():
    make_pi(CadenceFactory(), 1, D(2026, 1, 5), D(2026, 3, 15)).save()
    make_pi(CadenceFactory(), 1, D(2026, 1, 5), D(2026, 3, 15)).save()
    assert ProgramIncrement.objects.filter(start_date=D(2026, 1, 5)).count() == 2


def test_clean_names_the_overlap_for_a_form():
    cadence = CadenceFactory()
    make_pi(cadence, 1, D(2026, 1, 5), D(2026, 3, 15)).save()
    with pytest.raises(ValidationError) as error:
        make_pi(cadence, 2, D(2026, 3, 1), D(2026, 5, 24)).full_clean()
    assert "overlap" in str(error.value.message_dict["start_date"])


def test_database_refuses_a_pi_that_ends_before_it_starts():
    with pytest.raises(IntegrityError, match="end_after_start"), transaction.atomic():
        make_pi(CadenceFactory(), 1, D(2026, 3, 1), D(2026, 2, 1)).save()


def test_database_refuses_an_intake_cutoff_after_planning():
    pi = make_pi(CadenceFactory(), 1, D(2026, 1, 5), D(2026, 3, 15))
    pi.intake_cutoff = D(2026, 1, 10)
    with pytest.raises(IntegrityError, match="cutoff_before_planning"), transaction.atomic():
        pi.save()


def test_iterations_and_events_keep_their_dates_in_order():
    pi = ProgramIncrementFactory(with_iterations=False)
    with pytest.raises(IntegrityError, match="end_after_start"), transaction.atomic():
        Iteration.objects.create(program_increment=pi, number=1, start_date=D(2026, 1, 19), end_date=D(2026, 1, 5))
    with pytest.raises(IntegrityError, match="end_not_before_start"), transaction.atomic():
        CadenceEvent.objects.create(
            program_increment=pi, kind="system_demo", name="Demo", start_date=D(2026, 1, 19), end_date=D(2026, 1, 5)
        )


def test_iteration_numbers_are_unique_within_a_pi():
    pi = ProgramIncrementFactory()
    with pytest.raises(IntegrityError, match="(?i)unique"), transaction.atomic():
        Iteration.objects.create(program_increment=pi, number=1, start_date=pi.start_date, end_date=pi.end_date)
