import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portfolio.models import Epic, EpicState, Membership, Role, Terminology, WipLimit
from tests.factories import EpicFactory, MembershipFactory, PortfolioFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_wsjf_is_cost_of_delay_over_job_size_computed_by_the_database():
    epic = EpicFactory(business_value=13, time_criticality=8, risk_reduction=5, job_size=5)
    epic.refresh_from_db()
    assert epic.wsjf == pytest.approx(26 / 5)
    Epic.objects.filter(pk=epic.pk).update(job_size=13)
    epic.refresh_from_db()
    assert epic.wsjf == pytest.approx(2.0)


def test_epics_order_by_wsjf_highest_first():
    portfolio = PortfolioFactory()
    low = EpicFactory(portfolio=portfolio, business_value=1, time_criticality=1, risk_reduction=1, job_size=20)
    high = EpicFactory(portfolio=portfolio, business_value=20, time_criticality=13, risk_reduction=8, job_size=2)
    assert list(Epic.objects.filter(portfolio=portfolio)) == [high, low]


@pytest.mark.parametrize("component", ["business_value", "time_criticality", "risk_reduction", "job_size"])
def test_database_refuses_wsjf_components_off_the_fibonacci_scale(component):
    epic = EpicFactory()
    with pytest.raises(IntegrityError, match=f"{component}_on_scale"), transaction.atomic():
        Epic.objects.filter(pk=epic.pk).update(**{component: 4})


def test_clean_explains_the_wsjf_scale():
    epic = EpicFactory.build(job_size=4, portfolio=PortfolioFactory())
    with pytest.raises(ValidationError) as error:
        epic.full_clean()
    assert "1, 2, 3, 5, 8, 13, 20" in str(error.value.message_dict["job_size"])


def test_epic_keys_are_unique_within_a_portfolio_only():
    first = EpicFactory(key="EP-1")
    EpicFactory(key="EP-1")  # another portfolio
    with pytest.raises(IntegrityError, match="(?i)unique"), transaction.atomic():
        EpicFactory(key="EP-1", portfolio=first.portfolio)


def test_funnel_and_done_columns_have_no_wip_limit():
    portfolio = PortfolioFactory()
    WipLimit.objects.create(portfolio=portfolio, state=EpicState.IMPLEMENTING, limit=5)
    for state in (EpicState.FUNNEL, EpicState.DONE):
        with pytest.raises(IntegrityError, match="limited_column_only"), transaction.atomic():
            WipLimit.objects.create(portfolio=portfolio, state=state, limit=5)


def test_one_membership_per_user_and_portfolio():
    membership = MembershipFactory(role=Role.APMO)
    with pytest.raises(IntegrityError, match="(?i)unique"), transaction.atomic():
        Membership.objects.create(user=membership.user, portfolio=membership.portfolio, role=Role.VIEWER)


def test_terminology_chooses_the_words_pages_show():
    portfolio = PortfolioFactory(terminology=Terminology.PLANNING_INTERVAL)
    assert portfolio.words["pi_long"] == "Planning Interval"
    assert portfolio.words["board"] == "ART planning board"
    portfolio.terminology = Terminology.PROGRAM_INCREMENT
    assert portfolio.words["pi_long"] == "Program Increment"


def test_changes_are_kept_in_the_audit_history_with_their_author():
    author = UserFactory()
    epic = EpicFactory(title="Instant payouts")
    epic._history_user = author
    epic.title = "Instant payouts for merchants"
    epic.save()
    records = list(epic.history.order_by("history_date"))
    assert [r.title for r in records] == ["Instant payouts", "Instant payouts for merchants"]
    assert records[-1].history_user == author
    assert records[-1].diff_against(records[0]).changed_fields == ["title"]
