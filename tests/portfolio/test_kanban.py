"""The epic Kanban: columns against WIP limits, WSJF order, moves by role, refusals,
WIP limit settings, and the queries the pages cost."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from portfolio.core.concurrency import StaleVersion
from portfolio.kanban import CARDS_PER_COLUMN
from portfolio.models import Epic, EpicKind, EpicState, WipLimit
from portfolio.services import WipLimitReached, epic_move, wip_limits_set
from tests.factories import EpicFactory, StrategicThemeFactory

pytestmark = pytest.mark.django_db

KANBAN = "/epics/"
# Session, user, memberships; column counts, WIP limits; the cards of every column (one
# windowed query) and their value streams; the filter form's value streams, themes and
# PIs; a portfolio manager's WIP limit rows: whatever the number of epics.
KANBAN_QUERIES = 11
# Session, user, memberships; column counts, WIP limits; the page's count and rows and
# their value streams; the filter form's value streams, themes and PIs.
COLUMN_QUERIES = 11


def epic(world, **fields):
    defaults = {"portfolio": world.portfolio, "owner": world.user("portfolio_manager"), "target_pi": world.pi}
    return EpicFactory(**{**defaults, **fields})


def limit(world, state, value):
    return WipLimit.objects.create(portfolio=world.portfolio, state=state, limit=value)


def move_url(e):
    return reverse("epic-move", args=[e.pk])


def post_move(client, e, state, version=None):
    return client.post(move_url(e), {"state": state, "version": version or e.version}, follow=True)


def cards_of(response, state):
    column = next(c for c in response.context["board"].columns if c.state == state)
    return [card.epic.key for card in column.cards]


# --- The board ------------------------------------------------------------------------


def test_the_board_has_the_six_columns_in_flow_order(client_for, world):
    response = client_for(world.user("viewer")).get(KANBAN)
    assert response.status_code == 200
    assert [c.label for c in response.context["board"].columns] == [
        "Funnel",
        "Reviewing",
        "Analyzing",
        "Portfolio backlog",
        "Implementing",
        "Done",
    ]
    assertContains(response, "<h1>Epic Kanban</h1>", html=True)


def test_each_column_shows_its_count_against_its_wip_limit(client_for, world):
    limit(world, EpicState.ANALYZING, 2)
    limit(world, EpicState.REVIEWING, 1)
    for _ in range(2):
        epic(world, state=EpicState.ANALYZING)
    for _ in range(3):
        epic(world, state=EpicState.REVIEWING)
    epic(world, state=EpicState.FUNNEL)

    response = client_for(world.user("viewer")).get(KANBAN)
    columns = {c.state: c for c in response.context["board"].columns}
    assert (columns["analyzing"].count, columns["analyzing"].limit, columns["analyzing"].at_limit) == (2, 2, True)
    assert (columns["reviewing"].count, columns["reviewing"].over_limit) == (3, True)
    assert (columns["funnel"].count, columns["funnel"].limit) == (1, None)
    assertContains(response, '<span class="badge badge-off_track">over limit</span>', html=True)
    assertContains(response, '<span class="badge badge-at_risk">at limit</span>', html=True)
    assertContains(response, "kanban-column is-over-limit")
    assertContains(response, "no WIP limit", count=2)  # the funnel and done


def test_epics_are_ordered_by_wsjf_highest_first_within_a_column(client_for, world):
    epic(world, key="EP-LOW", state=EpicState.ANALYZING, business_value=1, time_criticality=1, risk_reduction=1)
    epic(world, key="EP-TOP", state=EpicState.ANALYZING, business_value=20, time_criticality=13, job_size=2)
    epic(world, key="EP-MID", state=EpicState.ANALYZING, business_value=8, time_criticality=8, job_size=5)
    epic(world, key="EP-ELSEWHERE", state=EpicState.FUNNEL, business_value=20, time_criticality=20, job_size=1)

    response = client_for(world.user("viewer")).get(KANBAN)

    assert cards_of(response, "analyzing") == ["EP-TOP", "EP-MID", "EP-LOW"]
    assert cards_of(response, "funnel") == ["EP-ELSEWHERE"]


def test_a_card_shows_key_title_wsjf_and_its_parts_kind_owner_target_and_value_streams(client_for, world):
    e = epic(
        world,
        key="EP-7",
        title="Instant card issuing",
        kind=EpicKind.ENABLER,
        state=EpicState.ANALYZING,
        business_value=13,
        time_criticality=8,
        risk_reduction=5,
        job_size=3,
        owner=world.user("enterprise_architect"),
    )
    world.user("enterprise_architect").first_name = "Erik"
    world.user("enterprise_architect").last_name = "Lund"
    world.user("enterprise_architect").save()
    world.value_stream.epics.add(e)
    world.other_value_stream.epics.add(e)

    response = client_for(world.user("viewer")).get(KANBAN)

    assertContains(response, "EP-7")
    assertContains(response, "Instant card issuing")
    assertContains(response, '<span class="wsjf-value">8.7</span>', html=True)  # 26 / 3
    assertContains(response, "cost of delay 26 (user-business value 13 + time criticality 8")
    assertContains(response, "÷ job size 3")
    assertContains(response, '<span class="kind-tag kind-enabler">Enabler</span>', html=True)
    assertContains(response, "Erik Lund")
    assertContains(response, "PI 26.4")
    assertContains(response, '<li title="Card Payments">Card Payments</li>', html=True)
    assertContains(response, '<li title="Lending">Lending</li>', html=True)


def test_a_column_shows_its_top_cards_and_links_to_all_of_them(client_for, world):
    for n in range(CARDS_PER_COLUMN + 3):
        epic(world, key=f"EP-{n:03}", state=EpicState.FUNNEL)

    response = client_for(world.user("viewer")).get(KANBAN)

    funnel = response.context["board"].columns[0]
    assert (funnel.count, len(funnel.cards), funnel.hidden) == (CARDS_PER_COLUMN + 3, CARDS_PER_COLUMN, 3)
    assertContains(response, f'href="{reverse("epic-column", args=["funnel"])}"')
    assertContains(response, f"Show all {CARDS_PER_COLUMN + 3}")


def test_a_columns_full_list_is_ordered_by_wsjf(client_for, world):
    epic(world, key="EP-B", state=EpicState.FUNNEL, business_value=2)
    epic(world, key="EP-A", state=EpicState.FUNNEL, business_value=20)
    epic(world, key="EP-X", state=EpicState.DONE)

    response = client_for(world.user("viewer")).get(reverse("epic-column", args=["funnel"]))

    assert response.status_code == 200
    assert [card.epic.key for card in response.context["listing"].cards] == ["EP-A", "EP-B"]
    assertContains(response, "<h1>Funnel</h1>", html=True)


def test_an_unknown_column_is_not_found(client_for, world):
    assert client_for(world.user("viewer")).get("/epics/nonsense/").status_code == 404


def test_the_board_filters_by_value_stream_kind_and_theme(client_for, world):
    theme = StrategicThemeFactory(portfolio=world.portfolio, name="Grow lending")
    lending = epic(world, key="EP-LEND", state=EpicState.ANALYZING, kind=EpicKind.ENABLER)
    world.other_value_stream.epics.add(lending)
    lending.themes.add(theme)
    cards = epic(world, key="EP-CARD", state=EpicState.ANALYZING)
    world.value_stream.epics.add(cards)
    client = client_for(world.user("viewer"))

    by_stream = client.get(KANBAN, {"value_stream": world.other_value_stream.pk})
    by_kind = client.get(KANBAN, {"kind": "business"})
    by_theme = client.get(KANBAN, {"theme": theme.pk})

    assert cards_of(by_stream, "analyzing") == ["EP-LEND"]
    assert cards_of(by_kind, "analyzing") == ["EP-CARD"]
    assert cards_of(by_theme, "analyzing") == ["EP-LEND"]
    # The count against the WIP limit stays the whole column's.
    assert by_theme.context["board"].columns[2].count == 2
    assertContains(by_theme, "1 epic match the filters")


# --- Who may move what --------------------------------------------------------------


def test_portfolio_managers_get_move_controls_on_every_card(client_for, world):
    business = epic(world, state=EpicState.FUNNEL)
    enabler = epic(world, state=EpicState.FUNNEL, kind=EpicKind.ENABLER)
    response = client_for(world.user("portfolio_manager")).get(KANBAN)
    assertContains(response, f'action="{move_url(business)}"')
    assertContains(response, f'action="{move_url(enabler)}"')
    assertContains(response, "Set WIP limits")


def test_enterprise_architects_get_move_controls_on_enablers_only(client_for, world):
    business = epic(world, state=EpicState.FUNNEL)
    enabler = epic(world, state=EpicState.FUNNEL, kind=EpicKind.ENABLER)
    response = client_for(world.user("enterprise_architect")).get(KANBAN)
    assertNotContains(response, f'action="{move_url(business)}"')
    assertContains(response, f'action="{move_url(enabler)}"')
    assertNotContains(response, "Set WIP limits")


@pytest.mark.parametrize("role", ["viewer", "apmo", "rte", "ste"])
def test_other_roles_read_the_board_without_move_controls(client_for, world, role):
    epic(world, state=EpicState.FUNNEL, kind=EpicKind.ENABLER)
    response = client_for(world.user(role)).get(KANBAN)
    assert response.status_code == 200
    assertNotContains(response, "move-form")
    assertNotContains(response, "Set WIP limits")


@pytest.mark.parametrize("role", ["viewer", "apmo", "rte", "ste"])
def test_other_roles_may_not_move_epics(client_for, world, role):
    e = epic(world, state=EpicState.FUNNEL, kind=EpicKind.ENABLER)
    response = client_for(world.user(role)).post(move_url(e), {"state": "reviewing", "version": 1})
    assert response.status_code == 403
    e.refresh_from_db()
    assert e.state == EpicState.FUNNEL


def test_an_enterprise_architect_may_not_move_a_business_epic(client_for, world):
    e = epic(world, state=EpicState.FUNNEL)
    response = client_for(world.user("enterprise_architect")).post(move_url(e), {"state": "reviewing", "version": 1})
    assert response.status_code == 403


def test_an_enterprise_architect_moves_an_enabler(client_for, world):
    e = epic(world, state=EpicState.FUNNEL, kind=EpicKind.ENABLER)
    response = post_move(client_for(world.user("enterprise_architect")), e, "reviewing")
    assertContains(response, f"{e.key} moved to Reviewing.")
    e.refresh_from_db()
    assert e.state == EpicState.REVIEWING


def test_an_epic_of_another_portfolio_is_not_found(client_for, world):
    stranger = EpicFactory(state=EpicState.FUNNEL)
    response = client_for(world.user("portfolio_manager")).post(move_url(stranger), {"state": "reviewing"})
    assert response.status_code == 404


def test_moving_needs_a_post(client_for, world):
    e = epic(world)
    assert client_for(world.user("portfolio_manager")).get(move_url(e)).status_code == 405


# --- Moves and their refusals -------------------------------------------------------


def test_a_portfolio_manager_moves_an_epic_and_the_move_is_recorded(client_for, world):
    e = epic(world, state=EpicState.REVIEWING)
    response = post_move(client_for(world.user("portfolio_manager")), e, "analyzing")

    assert response.redirect_chain[-1][0] == KANBAN
    assertContains(response, f"{e.key} moved to Analyzing.")
    e.refresh_from_db()
    assert (e.state, e.version) == (EpicState.ANALYZING, 2)
    assert e.state_changed_at is not None
    latest = e.history.latest()
    assert latest.history_user == world.user("portfolio_manager")
    assert latest.history_change_reason == "Moved on the Kanban from Reviewing to Analyzing"


def test_a_move_into_a_full_column_is_refused_with_a_clear_message(client_for, world):
    limit(world, EpicState.ANALYZING, 2)
    for _ in range(2):
        epic(world, state=EpicState.ANALYZING)
    e = epic(world, state=EpicState.REVIEWING)

    response = post_move(client_for(world.user("portfolio_manager")), e, "analyzing")

    assertContains(response, "Analyzing is at its WIP limit of 2; finish or move an epic out first.")
    e.refresh_from_db()
    assert (e.state, e.version) == (EpicState.REVIEWING, 1)


def test_a_move_into_a_column_over_its_limit_says_so(client_for, world):
    limit(world, EpicState.ANALYZING, 1)
    for _ in range(3):
        epic(world, state=EpicState.ANALYZING)
    e = epic(world, state=EpicState.REVIEWING)
    response = post_move(client_for(world.user("portfolio_manager")), e, "analyzing")
    assertContains(response, "Analyzing is over its WIP limit of 1 (3 epics)")


def test_moves_into_unlimited_columns_and_out_of_full_ones_are_allowed(world):
    limit(world, EpicState.ANALYZING, 1)
    full = epic(world, state=EpicState.ANALYZING)
    epic(world, state=EpicState.ANALYZING)  # over the limit
    pm = world.user("portfolio_manager")
    moved = epic_move(actor=pm, epic=full, to_state=EpicState.DONE, expected_version=1)
    assert moved.state == EpicState.DONE
    funnel = epic(world, state=EpicState.REVIEWING)
    assert epic_move(actor=pm, epic=funnel, to_state=EpicState.FUNNEL, expected_version=None).state == "funnel"


def test_the_last_free_place_goes_to_one_epic_only(world):
    limit(world, EpicState.ANALYZING, 1)
    first, second = epic(world, state=EpicState.REVIEWING), epic(world, state=EpicState.REVIEWING)
    pm = world.user("portfolio_manager")
    epic_move(actor=pm, epic=first, to_state=EpicState.ANALYZING, expected_version=1)
    with pytest.raises(WipLimitReached) as refusal:
        epic_move(actor=pm, epic=second, to_state=EpicState.ANALYZING, expected_version=1)
    assert (refusal.value.state, refusal.value.limit, refusal.value.count) == ("analyzing", 1, 1)


def test_a_move_from_a_stale_board_is_refused(client_for, world):
    e = epic(world, state=EpicState.REVIEWING)
    epic_move(actor=world.user("portfolio_manager"), epic=e, to_state=EpicState.ANALYZING, expected_version=1)

    response = post_move(client_for(world.user("portfolio_manager")), e, "portfolio_backlog", version=1)

    assertContains(response, "someone else changed it since you loaded the board (it is now in Analyzing)")
    e.refresh_from_db()
    assert (e.state, e.version) == (EpicState.ANALYZING, 2)


def test_the_service_checks_the_rules_itself(world):
    business = epic(world, state=EpicState.FUNNEL)
    with pytest.raises(PermissionDenied):
        epic_move(actor=world.user("enterprise_architect"), epic=business, to_state="reviewing", expected_version=1)
    with pytest.raises(StaleVersion):
        epic_move(actor=world.user("portfolio_manager"), epic=business, to_state="reviewing", expected_version=7)


def test_a_move_to_the_column_the_epic_is_in_is_refused(client_for, world):
    e = epic(world, state=EpicState.FUNNEL)
    response = post_move(client_for(world.user("portfolio_manager")), e, "funnel")
    assertContains(response, f"{e.key} is already in Funnel.")


def test_a_move_returns_to_the_filtered_board_it_came_from(client_for, world):
    e = epic(world, state=EpicState.FUNNEL)
    response = client_for(world.user("portfolio_manager")).post(
        move_url(e), {"state": "reviewing", "version": 1, "next": "/epics/?kind=business"}
    )
    assert response["Location"] == "/epics/?kind=business"
    response = client_for(world.user("portfolio_manager")).post(
        move_url(e), {"state": "analyzing", "version": 2, "next": "https://evil.example/"}
    )
    assert response["Location"] == KANBAN


# --- WIP limits -------------------------------------------------------------------------


def wip_data(values: dict, versions: dict | None = None) -> dict:
    data = {}
    for state in ("reviewing", "analyzing", "portfolio_backlog", "implementing"):
        data[state] = values.get(state, 5)
        data[f"{state}_version"] = (versions or {}).get(state, "")
    return data


def test_a_portfolio_manager_sets_wip_limits_even_below_the_count(client_for, world):
    row = limit(world, EpicState.ANALYZING, 5)
    for _ in range(3):
        epic(world, state=EpicState.ANALYZING)
    client = client_for(world.user("portfolio_manager"))

    response = client.post(reverse("epic-wip-limits"), wip_data({"analyzing": 2}, {"analyzing": 1}), follow=True)

    assertContains(response, "WIP limits saved")
    row.refresh_from_db()
    assert (row.limit, row.version) == (2, 2)
    assert WipLimit.objects.filter(portfolio=world.portfolio).count() == 4
    analyzing = response.context["board"].columns[2]
    assert (analyzing.count, analyzing.limit, analyzing.over_limit) == (3, 2, True)


def test_wip_limits_changed_meanwhile_are_not_overwritten(client_for, world):
    row = limit(world, EpicState.ANALYZING, 5)
    wip_limits_set(
        actor=world.user("portfolio_manager"),
        portfolio=world.portfolio,
        limits={"analyzing": 6},
        expected_versions={"analyzing": 1},
    )
    response = client_for(world.user("portfolio_manager")).post(
        reverse("epic-wip-limits"), wip_data({"analyzing": 9}, {"analyzing": 1}), follow=True
    )
    assertContains(response, "someone else set Analyzing to 6 meanwhile")
    row.refresh_from_db()
    assert row.limit == 6


def test_a_wip_limit_below_one_is_refused(client_for, world):
    response = client_for(world.user("portfolio_manager")).post(
        reverse("epic-wip-limits"), wip_data({"analyzing": 0}), follow=True
    )
    assertContains(response, "The WIP limits were not saved. Analyzing:")
    assert not WipLimit.objects.filter(portfolio=world.portfolio).exists()


@pytest.mark.parametrize("role", ["viewer", "apmo", "enterprise_architect"])
def test_only_portfolio_managers_set_wip_limits(client_for, world, role):
    response = client_for(world.user(role)).post(reverse("epic-wip-limits"), wip_data({}))
    assert response.status_code == 403
    assert not WipLimit.objects.filter(portfolio=world.portfolio).exists()


# --- Queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["portfolio_manager", "viewer"])
def test_the_board_costs_the_same_queries_on_the_small_and_the_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(KANBAN_QUERIES):
        response = client.get(KANBAN)
    assert response.status_code == 200
    assert sum(len(c.cards) for c in response.context["board"].columns) > 0


def test_the_filtered_board_costs_a_few_queries_more(client_for, demo, django_assert_max_num_queries):
    stream = Epic.objects.filter(portfolio=demo.portfolio).first().value_streams.first()
    client = client_for(demo.users["viewer"])
    # + the chosen value stream, + the filtered counts
    with django_assert_max_num_queries(KANBAN_QUERIES + 2):
        response = client.get(KANBAN, {"value_stream": stream.pk, "kind": "business", "q": "a"})
    assert response.context["board"].filtering


@pytest.mark.parametrize("state", ["funnel", "done"])
def test_a_columns_list_costs_the_same_queries_on_the_small_and_the_medium_demo(
    client_for, demo, state, django_assert_max_num_queries
):
    client = client_for(demo.users["portfolio_manager"])
    with django_assert_max_num_queries(COLUMN_QUERIES):
        response = client.get(reverse("epic-column", args=[state]))
    assert response.status_code == 200
    assert response.context["listing"].cards
