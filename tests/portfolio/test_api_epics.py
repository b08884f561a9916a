"""/api/v1/epics/ (with its move action) and /api/v1/wip-limits/: who may do what, the
WSJF scale, WIP limits, conflicts, and what the lists cost."""

import pytest
from django.contrib.auth import get_user_model

from portfolio.models import Epic, EpicKind, EpicState, WipLimit
from tests.factories import EpicFactory, ProgramIncrementFactory, StrategicThemeFactory

pytestmark = pytest.mark.django_db

EPICS = "/api/v1/epics/"
WIP_LIMITS = "/api/v1/wip-limits/"
# Roles, count, page, their themes, their value streams.
EPIC_LIST_QUERIES = 5
# Roles, count, page (the column counts are a subquery of it).
WIP_LIST_QUERIES = 3


def fresh(user):
    """The user as a new request would load it (roles not yet cached on the object)."""
    return get_user_model().objects.get(pk=user.pk)


def epic(world, **fields):
    return EpicFactory(**{"portfolio": world.portfolio, "target_pi": world.pi, **fields})


def epic_url(e, action=""):
    return f"{EPICS}{e.pk}/{action + '/' if action else ''}"


def new_epic(world, **fields):
    return {
        "portfolio": world.portfolio.pk,
        "key": "EP-900",
        "title": "Instant payouts",
        "business_value": 13,
        "time_criticality": 8,
        "risk_reduction": 5,
        "job_size": 3,
        **fields,
    }


# --- Reading ------------------------------------------------------------------------------


def test_members_list_epics_highest_wsjf_first(world, api_client_for):
    epic(world, key="EP-LOW", business_value=1)
    epic(world, key="EP-HIGH", business_value=20, job_size=2)
    EpicFactory(key="EP-OTHER-PORTFOLIO")

    data = api_client_for(world.user("viewer")).get(EPICS).json()

    assert [row["key"] for row in data["results"]] == ["EP-HIGH", "EP-LOW"]
    high = data["results"][0]
    assert (high["cost_of_delay"], high["wsjf"]) == (28, pytest.approx(14.0))  # (20 + 5 + 3) / 2
    assert high["target_pi_name"] == "PI 26.4"
    assert high["portfolio"] == {"id": world.portfolio.pk, "slug": "payments", "name": "Payments Portfolio"}


def test_epics_filter_as_on_the_kanban(world, api_client_for):
    theme = StrategicThemeFactory(portfolio=world.portfolio)
    enabler = epic(world, key="EP-EN", kind=EpicKind.ENABLER, state=EpicState.ANALYZING)
    enabler.themes.add(theme)
    world.other_value_stream.epics.add(enabler)
    epic(world, key="EP-BIZ", state=EpicState.FUNNEL)
    api = api_client_for(world.user("viewer"))

    for params in (
        {"kind": "enabler"},
        {"state": "analyzing"},
        {"theme": theme.pk},
        {"value_stream": world.other_value_stream.pk},
        {"q": "EP-E"},
    ):
        assert [row["key"] for row in api.get(EPICS, params).json()["results"]] == ["EP-EN"], params
    assert api.get(EPICS, {"value_stream": world.other_value_stream.pk}).json()["results"][0]["value_streams"] == [
        {"id": world.other_value_stream.pk, "key": "LEND", "name": "Lending"}
    ]


def test_an_epic_answers_with_its_etag_and_intake_gaps(world, api_client_for):
    e = epic(world, state=EpicState.REVIEWING)
    response = api_client_for(world.user("viewer")).get(epic_url(e))
    assert response["ETag"] == '"1"'
    assert response.json()["intake_gaps"] == [
        "still in Reviewing, not yet in the portfolio backlog",
        "no MVP hypothesis",
    ]


def test_an_epic_of_another_portfolio_is_not_found(world, api_client_for):
    assert api_client_for(world.user("viewer")).get(epic_url(EpicFactory())).status_code == 404


# --- Creating and editing ---------------------------------------------------------------


def test_a_portfolio_manager_creates_an_epic_in_the_funnel(world, api_client_for):
    response = api_client_for(world.user("portfolio_manager")).post(EPICS, new_epic(world), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "funnel"
    assert response.json()["wsjf"] == pytest.approx(26 / 3)
    assert response["ETag"] == '"1"'


def test_an_enterprise_architect_creates_enablers_only(world, api_client_for):
    api = api_client_for(world.user("enterprise_architect"))
    assert api.post(EPICS, new_epic(world, kind="enabler"), format="json").status_code == 201
    refused = api.post(EPICS, new_epic(world, key="EP-901", kind="business"), format="json")
    assert refused.status_code == 403
    assert "enabler epics only" in refused.json()["detail"]


@pytest.mark.parametrize("role", ["viewer", "apmo", "rte"])
def test_other_roles_may_not_create_epics(world, api_client_for, role):
    response = api_client_for(world.user(role)).post(EPICS, new_epic(world, kind="enabler"), format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("component", ["business_value", "time_criticality", "risk_reduction", "job_size"])
def test_wsjf_components_off_the_scale_answer_400_naming_the_field(world, api_client_for, component):
    e = epic(world)
    response = api_client_for(world.user("portfolio_manager")).patch(epic_url(e), {component: 4}, format="json")
    assert response.status_code == 400
    assert response.json() == {component: ["4 is not on the WSJF scale: use one of 1, 2, 3, 5, 8, 13, 20."]}


def test_a_target_pi_of_another_cadence_is_refused(world, api_client_for):
    elsewhere = ProgramIncrementFactory(with_iterations=False)
    e = epic(world)
    response = api_client_for(world.user("portfolio_manager")).patch(
        epic_url(e), {"target_pi": elsewhere.pk}, format="json"
    )
    assert response.status_code == 400
    assert "target_pi" in response.json()


def test_the_state_is_not_changed_by_an_edit(world, api_client_for):
    e = epic(world, state=EpicState.FUNNEL)
    response = api_client_for(world.user("portfolio_manager")).patch(epic_url(e), {"state": "done"}, format="json")
    assert response.status_code == 200
    e.refresh_from_db()
    assert e.state == EpicState.FUNNEL


def test_an_enterprise_architect_edits_enablers_but_may_not_turn_them_into_business_epics(world, api_client_for):
    enabler = epic(world, kind=EpicKind.ENABLER)
    business = epic(world)
    api = api_client_for(world.user("enterprise_architect"))
    assert api.patch(epic_url(enabler), {"title": "Event bus"}, format="json").status_code == 200
    assert api.patch(epic_url(enabler), {"kind": "business"}, format="json").status_code == 403
    assert api.patch(epic_url(business), {"title": "Mine now"}, format="json").status_code == 403


def test_an_edit_against_a_stale_etag_answers_412(world, api_client_for):
    e = epic(world)
    api = api_client_for(world.user("portfolio_manager"))
    assert api.patch(epic_url(e), {"title": "First"}, format="json", HTTP_IF_MATCH='"1"').status_code == 200
    stale = api.patch(epic_url(e), {"title": "Second"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current"]["title"] == "First"


# --- Moving -----------------------------------------------------------------------------


def test_a_portfolio_manager_moves_an_epic(world, api_client_for):
    e = epic(world, state=EpicState.REVIEWING)
    response = api_client_for(world.user("portfolio_manager")).post(
        epic_url(e, "move"), {"state": "analyzing", "version": 1}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["version"], response["ETag"]) == ("analyzing", 2, '"2"')
    assert response.json()["state_changed_at"]


def test_a_move_over_the_wip_limit_answers_409_naming_the_column(world, api_client_for):
    WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=1)
    epic(world, state=EpicState.ANALYZING)
    e = epic(world, state=EpicState.REVIEWING)

    response = api_client_for(world.user("portfolio_manager")).post(
        epic_url(e, "move"), {"state": "analyzing"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Analyzing is at its WIP limit of 1; finish or move an epic out first.",
        "state": "analyzing",
        "limit": 1,
        "count": 1,
    }
    e.refresh_from_db()
    assert e.state == EpicState.REVIEWING


@pytest.mark.parametrize(
    ("role", "kind", "expected"),
    [
        ("portfolio_manager", EpicKind.BUSINESS, 200),
        ("portfolio_manager", EpicKind.ENABLER, 200),
        ("enterprise_architect", EpicKind.ENABLER, 200),
        ("enterprise_architect", EpicKind.BUSINESS, 403),
        ("viewer", EpicKind.ENABLER, 403),
        ("apmo", EpicKind.BUSINESS, 403),
        ("rte", EpicKind.BUSINESS, 403),
    ],
)
def test_who_may_move_which_epic(world, api_client_for, role, kind, expected):
    e = epic(world, state=EpicState.FUNNEL, kind=kind)
    response = api_client_for(world.user(role)).post(epic_url(e, "move"), {"state": "reviewing"}, format="json")
    assert response.status_code == expected


def test_a_move_against_a_stale_version_answers_412_with_the_epic(world, api_client_for):
    e = epic(world, state=EpicState.FUNNEL)
    api = api_client_for(world.user("portfolio_manager"))
    assert api.post(epic_url(e, "move"), {"state": "reviewing", "version": 1}, format="json").status_code == 200
    stale = api.post(epic_url(e, "move"), {"state": "analyzing", "version": 1}, format="json")
    assert stale.status_code == 412
    assert stale.json()["current"]["state"] == "reviewing"
    by_header = api.post(epic_url(e, "move"), {"state": "analyzing"}, format="json", HTTP_IF_MATCH='"1"')
    assert by_header.status_code == 412


def test_a_move_to_an_unknown_or_the_same_column_answers_400(world, api_client_for):
    e = epic(world, state=EpicState.FUNNEL)
    api = api_client_for(world.user("portfolio_manager"))
    assert "state" in api.post(epic_url(e, "move"), {"state": "limbo"}, format="json").json()
    same = api.post(epic_url(e, "move"), {"state": "funnel"}, format="json")
    assert same.status_code == 400
    assert same.json() == {"state": [f"{e.key} is already in Funnel."]}


def test_moving_an_epic_of_another_portfolio_is_not_found(world, api_client_for):
    stranger = EpicFactory()
    response = api_client_for(world.user("portfolio_manager")).post(
        epic_url(stranger, "move"), {"state": "reviewing"}, format="json"
    )
    assert response.status_code == 404


# --- WIP limits ---------------------------------------------------------------------------


def test_members_read_wip_limits_with_the_columns_count(world, api_client_for):
    WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=1)
    epic(world, state=EpicState.ANALYZING)
    epic(world, state=EpicState.ANALYZING)
    [row] = api_client_for(world.user("viewer")).get(WIP_LIMITS).json()["results"]
    assert (row["state"], row["limit"], row["epic_count"], row["over_limit"]) == ("analyzing", 1, 2, True)


def test_a_portfolio_manager_sets_and_creates_wip_limits(world, api_client_for):
    row = WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=3)
    api = api_client_for(world.user("portfolio_manager"))
    changed = api.patch(f"{WIP_LIMITS}{row.pk}/", {"limit": 5}, format="json", HTTP_IF_MATCH='"1"')
    assert (changed.status_code, changed.json()["limit"], changed["ETag"]) == (200, 5, '"2"')
    created = api.post(WIP_LIMITS, {"portfolio": world.portfolio.pk, "state": "reviewing", "limit": 4}, format="json")
    assert created.status_code == 201
    duplicate = api.post(WIP_LIMITS, {"portfolio": world.portfolio.pk, "state": "reviewing", "limit": 4}, format="json")
    assert duplicate.status_code == 400
    funnel = api.post(WIP_LIMITS, {"portfolio": world.portfolio.pk, "state": "funnel", "limit": 4}, format="json")
    assert funnel.status_code == 400
    assert api.patch(f"{WIP_LIMITS}{row.pk}/", {"limit": 0}, format="json").json() == {
        "limit": ["Ensure this value is greater than or equal to 1."]
    }


@pytest.mark.parametrize("role", ["viewer", "apmo", "enterprise_architect"])
def test_only_portfolio_managers_change_wip_limits(world, api_client_for, role):
    row = WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=3)
    api = api_client_for(world.user(role))
    assert api.patch(f"{WIP_LIMITS}{row.pk}/", {"limit": 5}, format="json").status_code == 403
    created = api.post(WIP_LIMITS, {"portfolio": world.portfolio.pk, "state": "reviewing", "limit": 4}, format="json")
    assert created.status_code == 403


# --- Query counts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "bound"),
    [
        (EPICS, {}, EPIC_LIST_QUERIES),
        (EPICS, {"state": "done", "kind": "business"}, EPIC_LIST_QUERIES),
        (EPICS, {"value_stream": "FIRST"}, EPIC_LIST_QUERIES + 1),  # + the chosen value stream
        (WIP_LIMITS, {}, WIP_LIST_QUERIES),
    ],
)
def test_lists_cost_the_same_queries_on_the_small_and_the_medium_demo(
    demo, api_client_for, django_assert_max_num_queries, url, params, bound
):
    if params.get("value_stream") == "FIRST":
        first = Epic.objects.filter(portfolio=demo.portfolio).first().value_streams.first()
        params = {"value_stream": first.pk}
    api = api_client_for(fresh(demo.users["viewer"]))
    with django_assert_max_num_queries(bound):
        response = api.get(url, {**params, "page_size": 100})
    assert response.status_code == 200
    assert response.json()["results"]
