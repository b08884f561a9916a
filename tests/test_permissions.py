"""The permission table of the design, rule by rule: who may, and who may not."""

import pytest

from tests.factories import DependencyFactory, EpicFactory, MembershipFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

EVERYONE = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste", "outsider")


def allowed(world, perm, obj):
    return {name for name in EVERYONE if world.user(name).has_perm(perm, obj)}


def test_members_see_their_portfolio_and_outsiders_do_not(world):
    assert allowed(world, "portfolio.view_portfolio", world.portfolio) == set(EVERYONE) - {"outsider"}


def test_roles_do_not_leak_into_another_portfolio(world):
    other = PortfolioFactory()
    MembershipFactory(user=world.user("outsider"), portfolio=other, role="apmo")
    assert allowed(world, "portfolio.view_portfolio", other) == {"outsider"}
    assert allowed(world, "valuestreams.manage_trains", world.art) == {"apmo"}


def test_status_reports_by_the_trains_rte_its_ste_and_apmo(world):
    assert allowed(world, "valuestreams.post_status_report", world.art) == {"apmo", "rte", "ste"}
    assert allowed(world, "valuestreams.post_status_report", world.solution_train) == {"apmo", "ste"}
    assert allowed(world, "valuestreams.post_status_report", world.other_art) == {"apmo", "other_rte"}


def test_dependencies_are_raised_for_a_consumer_train_its_engineers_apmo_and_architects(world):
    assert allowed(world, "valuestreams.raise_dependency", world.art) == {
        "apmo",
        "enterprise_architect",
        "rte",
        "ste",
    }


def test_provider_actions_belong_to_the_providers_engineers(world):
    dependency = DependencyFactory(
        consumer=world.other_art, provider=world.art, portfolio=world.portfolio, needed_by_pi=world.pi
    )
    assert allowed(world, "valuestreams.act_as_provider", dependency) == {
        "apmo",
        "enterprise_architect",
        "rte",
        "ste",
    }


def test_only_the_consumers_engineers_apmo_and_architects_cancel(world):
    dependency = DependencyFactory(
        consumer=world.other_art, provider=world.art, portfolio=world.portfolio, needed_by_pi=world.pi
    )
    assert allowed(world, "valuestreams.cancel_dependency", dependency) == {
        "apmo",
        "enterprise_architect",
        "other_rte",
    }


def test_portfolio_managers_move_epics_and_architects_only_enablers(world):
    business = EpicFactory(portfolio=world.portfolio, kind="business")
    enabler = EpicFactory(portfolio=world.portfolio, kind="enabler")
    assert allowed(world, "portfolio.move_epic", business) == {"portfolio_manager"}
    assert allowed(world, "portfolio.move_epic", enabler) == {"portfolio_manager", "enterprise_architect"}
    assert allowed(world, "portfolio.change_epic", enabler) == {"portfolio_manager", "enterprise_architect"}


def test_wip_limits_and_themes_by_portfolio_managers(world):
    assert allowed(world, "portfolio.change_wiplimit", world.portfolio) == {"portfolio_manager"}
    assert allowed(world, "portfolio.change_strategictheme", world.portfolio) == {"portfolio_manager"}


def test_memberships_and_trains_are_managed_by_apmo(world):
    assert allowed(world, "portfolio.manage_memberships", world.portfolio) == {"apmo"}
    assert allowed(world, "valuestreams.manage_trains", world.value_stream) == {"apmo"}


def test_an_automation_user_records_results_and_nothing_else(world):
    from tests.factories import IntegrationPointFactory

    pipeline = MembershipFactory(portfolio=world.portfolio, role="automation").user
    point = IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi)
    assert pipeline.has_perm("integration.record_result", point)
    assert pipeline.has_perm("portfolio.view_portfolio", world.portfolio)
    for perm, obj in (
        ("integration.manage_point", point),
        ("valuestreams.post_status_report", world.art),
        ("valuestreams.raise_dependency", world.art),
        ("portfolio.manage_memberships", world.portfolio),
    ):
        assert not pipeline.has_perm(perm, obj), perm
    assert not world.user("viewer").has_perm("integration.record_result", point)
