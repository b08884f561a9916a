import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import (
    DependencyFactory,
    FeatureFactory,
    SolutionTrainFactory,
    StatusReportFactory,
    TrainFactory,
    ValueStreamFactory,
)
from valuestreams.models import Dependency, StatusReport, Team, TeamKind, Train, TrainKind

pytestmark = pytest.mark.django_db


def test_database_refuses_a_dependency_of_a_train_on_itself():
    dependency = DependencyFactory()
    with pytest.raises(IntegrityError, match="provider_not_consumer"), transaction.atomic():
        Dependency.objects.filter(pk=dependency.pk).update(provider=dependency.consumer)


def test_clean_names_the_provider_field_when_it_equals_the_consumer():
    dependency = DependencyFactory()
    dependency.provider = dependency.consumer
    with pytest.raises(ValidationError) as error:
        dependency.full_clean()
    assert "provider" in error.value.message_dict


def test_only_arts_belong_to_solution_trains():
    solution = SolutionTrainFactory()
    other = SolutionTrainFactory(value_stream=solution.value_stream)
    with pytest.raises(IntegrityError, match="only_arts_join_solution_trains"), transaction.atomic():
        Train.objects.filter(pk=other.pk).update(solution_train=solution)


def test_clean_refuses_an_art_as_solution_train():
    art = TrainFactory()
    second = TrainFactory.build(value_stream=art.value_stream, solution_train=art, name="X", key="X")
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert "solution_train" in error.value.message_dict


def test_train_names_and_keys_are_unique_in_their_value_stream():
    train = TrainFactory(name="Payments ART", key="PAY")
    TrainFactory(name="Payments ART", key="PAY")  # another value stream
    with pytest.raises(IntegrityError, match="(?i)unique"), transaction.atomic():
        TrainFactory(value_stream=train.value_stream, name="Payments ART", key="PAY2")


def test_an_agile_team_needs_a_train_while_a_shared_service_may_serve_many():
    value_stream = ValueStreamFactory()
    with pytest.raises(IntegrityError, match="agile_team_has_train"), transaction.atomic():
        Team.objects.create(portfolio=value_stream.portfolio, name="Orphans", kind=TeamKind.AGILE)
    service = Team.objects.create(portfolio=value_stream.portfolio, name="Security", kind=TeamKind.SHARED_SERVICE)
    trains = [TrainFactory(value_stream=value_stream) for _ in range(2)]
    service.serves.set(trains)
    assert set(trains[0].served_by.all()) == {service}


def test_pi_confidence_stays_within_one_to_five():
    with pytest.raises(IntegrityError, match="confidence_range"), transaction.atomic():
        StatusReportFactory(pi_confidence=6)


def test_status_reports_are_a_history_and_only_one_may_follow_each():
    first = StatusReportFactory()
    second = StatusReportFactory(train=first.train, based_on=first)
    assert list(StatusReport.objects.filter(train=first.train)) == [second, first]
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusReportFactory(train=first.train, based_on=first)
    with pytest.raises(IntegrityError, match="(?i)unique"), transaction.atomic():
        StatusReportFactory(train=first.train, based_on=None)


def test_done_date_only_on_done_features():
    with pytest.raises(IntegrityError, match="done_on_only_when_done"), transaction.atomic():
        FeatureFactory(state="backlog", done_on=datetime.date(2026, 1, 1))


def test_solution_train_engineer_is_called_ste():
    assert SolutionTrainFactory().engineer_title == "STE"
    assert TrainFactory(kind=TrainKind.ART).engineer_title == "RTE"
