"""The roadmap's writes: who may edit which train's roadmap, and the rules that span
rows (PIs of the train's cadence, commitment only for a PI that has started, epics and
capabilities of the same roadmap, milestones inside their PI), and stale versions."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portfolio.core.concurrency import StaleVersion
from roadmap import services
from roadmap.models import MilestoneKind
from roadmap.permissions import EDIT_PORTFOLIO_ROADMAP, EDIT_SOLUTION_ROADMAP
from tests import factories
from valuestreams.models import Commitment

pytestmark = pytest.mark.django_db

# Who may edit each train's roadmap (DESIGN.md: APMO and portfolio managers any; the STE
# their solution train's and its ARTs'; the RTE their own ART's).
EDITORS = {
    "solution_train": {"apmo", "portfolio_manager", "ste"},
    "art": {"apmo", "portfolio_manager", "ste", "rte"},
    "other_art": {"apmo", "portfolio_manager", "other_rte"},
}
ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste", "outsider")


@pytest.mark.parametrize("train_name", EDITORS)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_edit_each_trains_roadmap(rm, train_name, role):
    train = getattr(rm, train_name)
    # A row of the train's roadmap stands for the train: a capability of the solution
    # train, a feature of an ART.
    row = rm.capability(train=train) if train.is_solution_train else rm.feature(train=train)
    expected = role in EDITORS[train_name]

    assert rm.user(role).has_perm(EDIT_SOLUTION_ROADMAP, train) is expected
    assert rm.user(role).has_perm(EDIT_SOLUTION_ROADMAP, row) is expected


@pytest.mark.parametrize("role", ROLES)
def test_only_apmo_and_portfolio_managers_edit_the_portfolio_roadmaps_milestones(rm, role):
    milestone = factories.MilestoneFactory(portfolio=rm.portfolio)

    allowed = role in {"apmo", "portfolio_manager"}
    assert rm.user(role).has_perm(EDIT_PORTFOLIO_ROADMAP, rm.portfolio) is allowed
    assert rm.user(role).has_perm(EDIT_SOLUTION_ROADMAP, milestone) is allowed


# --- Capabilities -----------------------------------------------------------------------


def test_the_ste_adds_a_capability_to_their_solution_train(rm):
    epic = rm.epic()
    capability = services.capability_create(
        actor=rm.user("ste"),
        train=rm.solution_train,
        key="CAP-1",
        name="Tokenised wallets: rules",
        epic=epic,
        program_increment=rm.pis[1],
        commitment=Commitment.COMMITTED,
        today=rm.today,
    )
    assert (capability.train, capability.epic, capability.program_increment) == (rm.solution_train, epic, rm.pis[1])
    assert capability.history.count() == 1


@pytest.mark.parametrize("role", ["rte", "other_rte", "viewer", "enterprise_architect"])
def test_others_may_not_add_capabilities_to_the_solution_train(rm, role):
    with pytest.raises(PermissionDenied):
        services.capability_create(actor=rm.user(role), train=rm.solution_train, key="CAP-1", name="x")


def test_capabilities_are_carried_by_the_solution_train_not_its_arts(rm):
    with pytest.raises(ValidationError) as refused:
        services.capability_create(actor=rm.user("apmo"), train=rm.art, key="CAP-1", name="x")
    assert "train" in refused.value.message_dict


def test_a_capability_goes_on_a_pi_of_the_trains_cadence(rm):
    with pytest.raises(ValidationError) as refused:
        services.capability_create(
            actor=rm.user("ste"), train=rm.solution_train, key="CAP-1", name="x", program_increment=rm.offset_pis[1]
        )
    assert "program_increment" in refused.value.message_dict


def test_a_train_off_the_cadence_places_work_on_its_own_pis(rm):
    rm.other_art.cadence = rm.offset_cadence
    rm.other_art.save()
    capability = services.capability_create(
        actor=rm.user("other_rte"), train=rm.other_art, key="CAP-9", name="x", program_increment=rm.offset_pis[2]
    )
    assert capability.program_increment == rm.offset_pis[2]
    with pytest.raises(ValidationError):
        services.capability_update(
            actor=rm.user("other_rte"), capability=capability, expected_version=1, program_increment=rm.pis[2]
        )


def test_work_in_a_later_pi_can_only_be_forecast(rm):
    with pytest.raises(ValidationError) as refused:
        services.capability_create(
            actor=rm.user("ste"),
            train=rm.solution_train,
            key="CAP-1",
            name="x",
            program_increment=rm.pis[2],
            commitment=Commitment.COMMITTED,
            today=rm.today,
        )
    assert "commitment" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.capability_create(
            actor=rm.user("ste"), train=rm.solution_train, key="CAP-2", name="x", commitment=Commitment.COMMITTED
        )


def test_an_epic_of_another_portfolio_is_refused(rm):
    stranger = factories.EpicFactory()
    with pytest.raises(ValidationError) as refused:
        services.capability_create(actor=rm.user("ste"), train=rm.solution_train, key="CAP-1", name="x", epic=stranger)
    assert "epic" in refused.value.message_dict


def test_a_key_is_unique_on_its_train(rm):
    rm.capability(key="CAP-1")
    with pytest.raises(ValidationError) as refused:
        services.capability_create(actor=rm.user("ste"), train=rm.solution_train, key="CAP-1", name="again")
    assert "key" in refused.value.message_dict


def test_moving_a_capability_to_another_pi_bumps_its_version(rm):
    capability = rm.capability(pi=rm.pis[2])
    moved = services.capability_update(
        actor=rm.user("portfolio_manager"), capability=capability, expected_version=1, program_increment=rm.pis[3]
    )
    assert (moved.program_increment, moved.version) == (rm.pis[3], 2)


def test_a_stale_edit_is_refused_with_the_current_row(rm):
    capability = rm.capability(pi=rm.pis[2])
    services.capability_update(actor=rm.user("ste"), capability=capability, expected_version=1, name="First")
    with pytest.raises(StaleVersion) as stale:
        services.capability_update(actor=rm.user("apmo"), capability=capability, expected_version=1, name="Second")
    assert (stale.value.current.name, stale.value.current.version) == ("First", 2)


def test_deleting_a_capability_keeps_its_features(rm):
    capability = rm.capability()
    feature = rm.feature(capability=capability)
    services.capability_delete(actor=rm.user("ste"), capability=capability, expected_version=1)
    feature.refresh_from_db()
    assert feature.capability is None


# --- Features ---------------------------------------------------------------------------


def test_the_rte_places_their_arts_feature_on_a_pi_and_iteration(rm):
    feature = rm.feature()
    iteration = rm.pis[1].iterations.get(number=2)
    placed = services.feature_update(
        actor=rm.user("rte"),
        feature=feature,
        expected_version=1,
        iteration=iteration,
        commitment=Commitment.COMMITTED,
        today=rm.today,
    )
    assert (placed.program_increment, placed.iteration, placed.commitment) == (rm.pis[1], iteration, "committed")


def test_moving_a_feature_to_another_pi_leaves_its_iteration_behind(rm):
    feature = rm.feature(pi=rm.pis[1], iteration=rm.pis[1].iterations.get(number=2))
    moved = services.feature_update(
        actor=rm.user("ste"), feature=feature, expected_version=1, program_increment=rm.pis[2]
    )
    assert (moved.program_increment, moved.iteration) == (rm.pis[2], None)


def test_an_iteration_of_another_pi_is_refused(rm):
    feature = rm.feature()
    with pytest.raises(ValidationError) as refused:
        services.feature_update(
            actor=rm.user("rte"),
            feature=feature,
            expected_version=1,
            program_increment=rm.pis[2],
            iteration=rm.pis[3].iterations.first(),
        )
    assert "iteration" in refused.value.message_dict


def test_a_feature_belongs_to_a_capability_of_its_own_roadmap(rm):
    elsewhere = rm.capability(train=rm.other_art)
    with pytest.raises(ValidationError) as refused:
        services.feature_create(actor=rm.user("rte"), train=rm.art, key="F-1", name="x", capability=elsewhere)
    assert "capability" in refused.value.message_dict
    own = rm.capability()
    feature = services.feature_create(actor=rm.user("rte"), train=rm.art, key="F-1", name="x", capability=own)
    assert feature.capability == own


def test_features_belong_to_arts(rm):
    with pytest.raises(ValidationError) as refused:
        services.feature_create(actor=rm.user("ste"), train=rm.solution_train, key="F-1", name="x")
    assert "train" in refused.value.message_dict


def test_the_rte_may_not_place_another_arts_feature(rm):
    feature = rm.feature(train=rm.other_art)
    with pytest.raises(PermissionDenied):
        services.feature_update(actor=rm.user("rte"), feature=feature, expected_version=1, program_increment=rm.pis[2])


# --- Milestones -------------------------------------------------------------------------


def test_a_milestone_sits_in_the_pi_its_date_falls_in(rm):
    day = rm.pis[2].start_date + datetime.timedelta(days=10)
    milestone = services.milestone_create(
        actor=rm.user("ste"), portfolio=rm.portfolio, train=rm.solution_train, name="Beta", date=day
    )
    assert milestone.program_increment == rm.pis[2]
    moved = services.milestone_update(
        actor=rm.user("ste"), milestone=milestone, expected_version=1, date=rm.pis[3].start_date
    )
    assert moved.program_increment == rm.pis[3]


def test_a_milestone_outside_its_pi_is_refused(rm):
    with pytest.raises(ValidationError) as refused:
        services.milestone_create(
            actor=rm.user("apmo"),
            portfolio=rm.portfolio,
            name="Go-live",
            date=rm.pis[3].start_date,
            program_increment=rm.pis[2],
            kind=MilestoneKind.PI_EVENT,
        )
    assert "date" in refused.value.message_dict


def test_a_portfolio_release_milestone_names_its_release(rm):
    with pytest.raises(ValidationError) as refused:
        services.milestone_create(
            actor=rm.user("apmo"), portfolio=rm.portfolio, name="Go-live", date=rm.today, kind=MilestoneKind.RELEASE
        )
    assert "release" in refused.value.message_dict


def test_the_ste_may_not_add_portfolio_milestones(rm):
    with pytest.raises(PermissionDenied):
        services.milestone_create(actor=rm.user("ste"), portfolio=rm.portfolio, name="x", date=rm.today)
    milestone = services.milestone_create(
        actor=rm.user("portfolio_manager"), portfolio=rm.portfolio, name="x", date=rm.today
    )
    assert milestone.train is None


def test_deleting_a_milestone_checks_its_version(rm):
    milestone = factories.MilestoneFactory(portfolio=rm.portfolio, train=rm.other_art)
    with pytest.raises(StaleVersion):
        services.milestone_delete(actor=rm.user("other_rte"), milestone=milestone, expected_version=7)
    services.milestone_delete(actor=rm.user("other_rte"), milestone=milestone, expected_version=1)
    assert not type(milestone).objects.filter(pk=milestone.pk).exists()
