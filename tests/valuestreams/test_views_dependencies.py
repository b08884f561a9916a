"""The dependency pages: the filtered list, raising and editing, a dependency's page with
its workflow steps, history and slip impact; who may do what, and query counts."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from tests.factories import (
    DependencyFactory,
    EpicFactory,
    FeatureFactory,
    MembershipFactory,
    PortfolioFactory,
    ProgramIncrementFactory,
    TrainFactory,
)
from valuestreams.models import Dependency, DependencyEvent, DependencyFlag, DependencyState

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 10, 20)  # in the second iteration of world.pi (I3 ends 15 Nov)
MEMBER_ROLES = ("viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste")
# Session, user, memberships; the page's count, ids and rows; the trains the user may
# raise for; the filter form's choices (PIs, value streams, trains).
LIST_QUERIES = 10
# Session, user, memberships; the consumers the user may raise for; the providers; the
# cadences behind the PIs (two), the PIs, their iterations; the epics.
CREATE_QUERIES = 10
# Session, user, memberships; the dependency with its trains, PIs, iterations, features
# and epic; its history; the commit form's PIs, iterations and provider's features. Plus,
# for a slipping dependency, one query per step downstream and one for the features.
DETAIL_QUERIES = 8


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)
    return TODAY


def ours(world):
    """The world's dependencies (the demo portfolios share the test database)."""
    return Dependency.objects.filter(portfolio=world.portfolio)


def url(name: str, dependency=None) -> str:
    return reverse(f"valuestreams:dependency-{name}", args=[dependency.pk] if dependency else [])


def main_of(response) -> str:
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


def iteration(world, number: int):
    return world.pi.iterations.get(number=number)


def dependency(world, *, consumer=None, provider=None, needed_by=3, **fields) -> Dependency:
    """Loan Origination ART (other value stream, other_rte) needs it from Card Issuing ART
    (rte; ste through the solution train) by an iteration of world.pi."""
    return DependencyFactory(
        consumer=consumer or world.other_art,
        provider=provider or world.art,
        needed_by_pi=world.pi,
        needed_by_iteration=iteration(world, needed_by) if needed_by else None,
        **fields,
    )


def committed(world, number: int, **fields) -> Dependency:
    return dependency(
        world,
        state=DependencyState.COMMITTED,
        committed_pi=world.pi,
        committed_iteration=iteration(world, number),
        **fields,
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(client, dep, action: str, **data):
    dep.refresh_from_db()
    return client.post(url("act", dep), {"action": action, "version": dep.version, **data})


# --- The list ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MEMBER_ROLES)
def test_every_member_reads_the_list_and_each_dependency(client_for, world, role):
    dep = dependency(world, key="DEP-1", title="Card tokenisation API")
    client = client_for(world.user(role))
    assertContains(client.get(url("list")), "Card tokenisation API")
    assertContains(client.get(url("detail", dep)), "<h1>Card tokenisation API</h1>", html=True)


def test_the_list_is_soonest_needed_first_and_shows_trains_dates_colour_and_state(client_for, world):
    later = committed(world, 4, key="DEP-2", title="Later need", needed_by=None)  # needed by the PI's end
    red = committed(world, 4, key="DEP-3", title="Red one", flag=DependencyFlag.BLOCKED, flag_reason="Vendor")
    same_vs = dependency(
        world, consumer=world.solution_train, key="DEP-4", title="Inside one value stream", needed_by=2
    )

    response = client_for(world.user("viewer")).get(url("list"))

    assert list(response.context["page_obj"].object_list) == [same_vs, red, later]
    page = main_of(response)
    row = page[page.index("Red one") : page.index("Later need")]
    for text in ("Loan Origination ART", "Lending", "Card Issuing ART", "Card Payments", "Cross-VS"):
        assert text in row
    assert "PI 26.4 · I3" in row and "15 Nov 2026" in row  # needed by
    assert "PI 26.4 · I4" in row and "29 Nov 2026" in row  # committed
    assert 'class="chip chip-red"' in row and "Red · late" in row
    assert "Committed" in row and "Blocked" in row and '<span class="late-tag">Late</span>' in row
    inside = page[page.index("Inside one value stream") : page.index("Red one")]
    assert "Cross-VS" not in inside
    assert "Grey · no commitment" in inside and "late-tag" not in inside
    assertContains(response, "3 dependencies, soonest needed first")


def test_filter_late_only(client_for, world):
    red = committed(world, 4, title="Committed after the need")
    overdue = dependency(world, title="Needed last iteration", needed_by=1)  # I1 ended 18 Oct
    committed(world, 2, title="On time")
    dependency(world, title="Delivered long ago", needed_by=1, state=DependencyState.DELIVERED)

    response = client_for(world.user("viewer")).get(url("list"), {"late": "true"})

    assert set(response.context["page_obj"].object_list) == {red, overdue}
    assertContains(response, "Matching dependencies")
    assertContains(response, "Clear filters")


def test_filter_cross_value_stream_only_and_combined_with_late(client_for, world):
    cross_late = committed(world, 4, title="Across, late")
    cross = dependency(world, title="Across, fine")
    dependency(world, consumer=world.solution_train, title="Within", needed_by=1)
    client = client_for(world.user("viewer"))

    across = client.get(url("list"), {"cross_value_stream": "true"}).context["page_obj"].object_list
    both = client.get(url("list"), {"late": "true", "cross_value_stream": "true"}).context["page_obj"].object_list

    assert set(across) == {cross_late, cross}
    assert list(both) == [cross_late]


def test_filter_by_state_flag_train_and_search(client_for, world):
    accepted = dependency(world, title="Accepted one", state=DependencyState.ACCEPTED, flag=DependencyFlag.AT_RISK)
    requested = dependency(world, title="Requested one", consumer=world.solution_train)
    client = client_for(world.user("viewer"))

    def listed(**params):
        return list(client.get(url("list"), params).context["page_obj"].object_list)

    assert listed(state="accepted") == [accepted]
    assert set(listed(state="open")) == {accepted, requested}
    assert listed(flag="at_risk") == [accepted]
    assert listed(train=world.solution_train.pk) == [requested]
    assert listed(q="requested") == [requested]


def test_a_bad_filter_value_is_shown_as_an_error(client_for, world):
    dependency(world)
    response = client_for(world.user("viewer")).get(url("list"), {"state": "lost"})
    assert response.status_code == 200
    assertContains(response, "Select a valid choice")


def test_the_list_has_pages_of_50_that_keep_the_filters(client_for, world):
    for n in range(55):
        dependency(world, key=f"DEP-{n + 1}", title=f"Need {n + 1}")
    client = client_for(world.user("viewer"))

    first = client.get(url("list"), {"state": "requested"})
    second = client.get(url("list"), {"state": "requested", "page": "2"})

    assert len(first.context["page_obj"].object_list) == 50
    assert len(second.context["page_obj"].object_list) == 5
    assertContains(first, "1–50 of 55 dependencies")
    assertContains(first, 'href="?state=requested&amp;page=2" rel="next"')
    assertContains(second, "Page 2 of 2")


@pytest.mark.parametrize(
    ("role", "may_raise"),
    [
        ("apmo", True),
        ("enterprise_architect", True),
        ("rte", True),
        ("ste", True),
        ("other_rte", True),
        ("viewer", False),
        ("portfolio_manager", False),
    ],
)
def test_the_raise_button_is_shown_to_those_who_may_raise_for_some_train(client_for, world, role, may_raise):
    response = client_for(world.user(role)).get(url("list"))
    assert response.context["may_raise"] is may_raise
    assert (f'href="{url("create")}"' in main_of(response)) is may_raise


def test_the_list_shows_only_the_current_portfolios_dependencies(client_for, world):
    dependency(world, title="Ours")
    DependencyFactory(title="Theirs")
    response = client_for(world.user("apmo")).get(url("list"))
    assertContains(response, "Ours")
    assertNotContains(response, "Theirs")


# --- Raising ----------------------------------------------------------------------------


def raise_data(world, **overrides) -> dict:
    data = {
        "consumer": world.other_art.pk,
        "provider": world.art.pk,
        "title": "Card tokenisation API",
        "description": "Tokens for saved cards.",
        "needed_by_pi": world.pi.pk,
        "needed_by_iteration": iteration(world, 3).pk,
        "consumer_feature": "",
        "epic": "",
    }
    return data | overrides


@pytest.mark.parametrize(
    ("role", "consumers"),
    [
        ("apmo", {"solution_train", "art", "other_art"}),
        ("enterprise_architect", {"solution_train", "art", "other_art"}),
        ("ste", {"solution_train", "art"}),
        ("rte", {"art"}),
        ("other_rte", {"other_art"}),
    ],
)
def test_the_consumer_choices_are_the_trains_the_user_may_raise_for(client_for, world, role, consumers):
    response = client_for(world.user(role)).get(url("create"))
    assert response.status_code == 200
    offered = set(response.context["form"].fields["consumer"].queryset)
    assert offered == {getattr(world, name) for name in consumers}


@pytest.mark.parametrize("role", ["viewer", "portfolio_manager"])
def test_those_who_may_not_raise_get_403(client_for, world, role):
    client = client_for(world.user(role))
    assert client.get(url("create")).status_code == 403
    response = client.post(url("create"), raise_data(world))
    assertContains(response, "may raise a dependency", status_code=403)
    assert not ours(world).exists()


def test_consumer_in_the_query_preselects_it_and_offers_its_features(client_for, world):
    feature = FeatureFactory(train=world.other_art, key="LOA-7", name="Instant loan offer")
    response = client_for(world.user("apmo")).get(url("create"), {"consumer": world.other_art.pk})
    form = response.context["form"]
    assert form.initial["consumer"] == world.other_art.pk
    assertContains(response, f'<option value="{world.other_art.pk}" selected>')
    assert list(form.fields["consumer_feature"].queryset) == [feature]
    assertContains(response, "LOA-7 Instant loan offer")


def test_a_consumer_the_user_may_not_raise_for_is_not_preselected(client_for, world):
    response = client_for(world.user("rte")).get(url("create"), {"consumer": world.other_art.pk})
    assert response.context["form"].initial.get("consumer") == world.art.pk  # their only train


def test_show_its_features_reloads_the_form_for_the_chosen_consumer_without_raising(client_for, world):
    FeatureFactory(train=world.other_art, key="LOA-7", name="Instant loan offer")
    data = raise_data(world, load_features="1", title="Kept title")
    response = client_for(world.user("apmo")).post(url("create"), data)
    assert response.status_code == 200
    assertContains(response, "LOA-7 Instant loan offer")
    assertContains(response, 'value="Kept title"')
    assert not ours(world).exists()


def test_the_consumers_rte_raises_a_dependency(client_for, world):
    feature = FeatureFactory(train=world.other_art)
    epic = EpicFactory(portfolio=world.portfolio)
    client = client_for(world.user("other_rte"))

    response = client.post(url("create"), raise_data(world, consumer_feature=feature.pk, epic=epic.pk))

    dep = ours(world).get()
    assertRedirects(response, url("detail", dep), fetch_redirect_response=False)
    assert (dep.consumer, dep.provider, dep.state, dep.raised_by) == (
        world.other_art,
        world.art,
        DependencyState.REQUESTED,
        world.user("other_rte"),
    )
    assert (dep.needed_by_iteration, dep.consumer_feature, dep.epic) == (iteration(world, 3), feature, epic)
    assert dep.events.get().action == "raise"
    assertContains(client.get(url("detail", dep)), f"{dep.key} raised: Card Issuing ART has been asked for it.")


def test_an_rte_cannot_raise_for_another_train(client_for, world):
    response = client_for(world.user("rte")).post(url("create"), raise_data(world))  # consumer: other_art
    assert response.status_code == 400
    assert "consumer" in response.context["form"].errors
    assert not ours(world).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"provider": ""}, "provider"),
        ({"provider": "OTHER_ART"}, "provider"),  # a train cannot depend on itself
        ({"needed_by_pi": ""}, "needed_by_pi"),
        ({"needed_by_iteration": "OTHER_PI_ITERATION"}, "needed_by_iteration"),
        ({"consumer_feature": "ART_FEATURE"}, "consumer_feature"),
    ],
)
def test_bad_input_when_raising_shows_errors_and_stores_nothing(client_for, world, overrides, field):
    next_pi = ProgramIncrementFactory(cadence=world.portfolio.cadence, number=2, name="PI 27.1")
    values = {
        "OTHER_ART": world.other_art.pk,
        "OTHER_PI_ITERATION": next_pi.iterations.first().pk,
        "ART_FEATURE": FeatureFactory(train=world.art).pk,
    }
    data = raise_data(world, **{k: values.get(v, v) for k, v in overrides.items()})
    response = client_for(world.user("apmo")).post(url("create"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assertContains(
        response, "Card tokenisation API" if field != "title" else "Tokens for saved cards.", status_code=400
    )
    assert not ours(world).exists()


# --- Editing ------------------------------------------------------------------------------


def edit_data(dep, **overrides) -> dict:
    data = {
        "title": dep.title,
        "description": dep.description,
        "needed_by_pi": dep.needed_by_pi_id,
        "needed_by_iteration": dep.needed_by_iteration_id or "",
        "consumer_feature": dep.consumer_feature_id or "",
        "epic": dep.epic_id or "",
        "version": dep.version,
    }
    return data | overrides


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("other_rte", True),  # the consumer's RTE
        ("apmo", True),
        ("enterprise_architect", True),
        ("rte", False),  # the provider's RTE
        ("ste", False),
        ("viewer", False),
        ("portfolio_manager", False),
    ],
)
def test_who_may_edit_a_dependency(client_for, world, role, allowed):
    dep = dependency(world, title="Old title")
    client = client_for(world.user(role))
    assert client.get(url("edit", dep)).status_code == (200 if allowed else 403)
    response = client.post(url("edit", dep), edit_data(dep, title="New title"))
    dep.refresh_from_db()
    if allowed:
        assertRedirects(response, url("detail", dep), fetch_redirect_response=False)
        assert (dep.title, dep.version) == ("New title", 2)
    else:
        assertContains(response, "You may not edit", status_code=403)
        assert dep.title == "Old title"
    assert ('href="{}"'.format(url("edit", dep)) in main_of(client.get(url("detail", dep)))) is allowed


def test_an_edit_from_a_stale_form_is_refused_showing_the_current_values_and_keeping_the_input(world):
    dep = dependency(world, title="Card tokens", description="As first written.")
    mine, theirs = logged_in(world.user("other_rte")), logged_in(world.user("apmo"))
    loaded = mine.get(url("edit", dep)).context["form"]
    assert loaded["version"].value() == 1
    theirs.post(url("edit", dep), edit_data(dep, title="Card tokens v2", needed_by_iteration=iteration(world, 2).pk))

    response = mine.post(url("edit", dep), edit_data(dep, description="My careful rewrite.", version=1))

    assert response.status_code == 409
    dep.refresh_from_db()
    assert (dep.title, dep.description, dep.version) == ("Card tokens v2", "As first written.", 2)
    page = main_of(response)
    assert f"Not saved: {dep.key} was changed by someone else while you were editing." in page
    current = page[page.index('id="current-values"') :]
    assert "Card tokens v2" in current and "PI 26.4 · I2" in current  # the current values
    assert "My careful rewrite.</textarea>" in page  # the input kept
    assert "Your input differs from the current title, description, needed by iteration" in page
    assert '<input type="hidden" name="version" value="2"' in page  # ready to save over v2

    resaved = mine.post(url("edit", dep), edit_data(dep, description="My careful rewrite.", version=2))
    assert resaved.status_code == 302
    dep.refresh_from_db()
    assert (dep.title, dep.description, dep.version) == ("Card tokens v2", "My careful rewrite.", 3)


def test_bad_input_when_editing_shows_errors_and_changes_nothing(client_for, world):
    dep = dependency(world, title="Card tokens")
    response = client_for(world.user("apmo")).post(url("edit", dep), edit_data(dep, title=""))
    assert response.status_code == 400
    assert "title" in response.context["form"].errors
    dep.refresh_from_db()
    assert (dep.title, dep.version) == ("Card tokens", 1)


# --- A dependency's page ---------------------------------------------------------------------


def test_the_page_shows_everything_about_the_dependency(client_for, world):
    needing = FeatureFactory(train=world.other_art, key="LOA-3", name="Instant loan offer")
    delivering = FeatureFactory(train=world.art, key="CIA-9", name="Token vault")
    epic = EpicFactory(portfolio=world.portfolio, key="EP-42", title="Open banking")
    dep = committed(
        world,
        4,
        key="DEP-9",
        title="Card tokenisation API",
        description="Tokens for saved cards.",
        flag=DependencyFlag.AT_RISK,
        flag_reason="Vendor SDK late.",
        consumer_feature=needing,
        provider_feature=delivering,
        epic=epic,
        raised_by=world.user("other_rte"),
    )

    page = main_of(client_for(world.user("viewer")).get(url("detail", dep)))

    for text in (
        "Loan Origination ART",
        "Lending",
        "Card Issuing ART",
        "Card Payments",
        "cross-value-stream",
        "Tokens for saved cards.",
        "PI 26.4 · I3",
        "15 Nov 2026",
        "PI 26.4 · I4",
        "29 Nov 2026",
        "Red · late",
        "The provider's commitment ends 29 Nov 2026, after the needed-by iteration ends (15 Nov 2026).",
        "committed after it is needed",
        "At risk",
        "Vendor SDK late.",
        "LOA-3",
        "Instant loan offer",
        "CIA-9",
        "Token vault",
        "EP-42",
        "Open banking",
        "w-other_rte",
    ):
        assert text in page, text


@pytest.mark.parametrize(
    ("role", "steps"),
    [
        ("rte", ["accept", "decline", "flag"]),  # the provider's
        ("ste", ["accept", "decline", "flag"]),
        ("other_rte", ["cancel"]),  # the consumer's
        ("apmo", ["accept", "decline", "flag", "cancel"]),
        ("enterprise_architect", ["accept", "decline", "flag", "cancel"]),
        ("viewer", []),
        ("portfolio_manager", []),
    ],
)
def test_the_page_offers_the_steps_the_user_may_take_now(client_for, world, role, steps):
    dep = dependency(world)
    response = client_for(world.user(role)).get(url("detail", dep))
    assert [form.step.name for form in response.context["action_forms"]] == steps
    page = main_of(response)
    assert page.count(f'action="{url("act", dep)}"') == len(steps)
    if not steps:
        assert "You have no step to take" in page


def test_the_provider_accepts_commits_flags_and_delivers_through_the_page(world):
    rte = logged_in(world.user("rte"))
    dep = dependency(world)
    feature = FeatureFactory(train=world.art)

    assertRedirects(act(rte, dep, "accept"), url("detail", dep), fetch_redirect_response=False)
    commit = {
        "committed_pi": world.pi.pk,
        "committed_iteration": iteration(world, 2).pk,
        "provider_feature": feature.pk,
    }
    assert act(rte, dep, "commit", **commit).status_code == 302
    assert act(rte, dep, "flag", flag="blocked", reason="Waiting on the PCI audit.").status_code == 302
    dep.refresh_from_db()
    assert (dep.state, dep.colour, dep.flag, dep.provider_feature) == ("committed", "green", "blocked", feature)
    response = act(rte, dep, "deliver")
    assert response.status_code == 302
    dep.refresh_from_db()
    assert (dep.state, dep.flag, dep.delivered_on) == ("delivered", "", TODAY)
    page = rte.get(url("detail", dep))
    assertContains(page, f"{dep.key} is now delivered.")
    assert [e.action for e in dep.events.order_by("at", "id")] == ["accept", "commit", "flag", "deliver"]


def test_the_consumers_rte_may_not_accept_and_gets_403_with_the_reason(client_for, world):
    dep = dependency(world)
    response = act(client_for(world.user("other_rte")), dep, "accept")
    assert response.status_code == 403
    assertContains(
        response,
        f"You may not accept {dep.key}: only the provider&#x27;s RTE or STE, APMO or an enterprise architect may.",
        status_code=403,
    )
    dep.refresh_from_db()
    assert (dep.state, dep.version) == ("requested", 1)
    assert not DependencyEvent.objects.filter(dependency__portfolio=world.portfolio).exists()


@pytest.mark.parametrize(("role", "allowed"), [("other_rte", True), ("apmo", True), ("rte", False), ("viewer", False)])
def test_who_may_cancel(client_for, world, role, allowed):
    dep = dependency(world)
    response = act(client_for(world.user(role)), dep, "cancel", reason="No longer needed.")
    dep.refresh_from_db()
    assert response.status_code == (302 if allowed else 403)
    assert dep.state == ("cancelled" if allowed else "requested")


@pytest.mark.parametrize("role", ["apmo", "enterprise_architect"])
def test_apmo_and_enterprise_architects_may_take_any_step(client_for, world, role):
    client = client_for(world.user(role))
    dep = dependency(world)
    assert act(client, dep, "accept").status_code == 302
    assert act(client, dep, "decline", reason="Out of scope.").status_code == 302
    assert act(client, dep, "reopen").status_code == 302
    assert act(client, dep, "cancel", reason="Done elsewhere.").status_code == 302
    dep.refresh_from_db()
    assert dep.state == "cancelled"


def test_a_step_not_allowed_from_the_state_is_refused_with_a_clear_message(client_for, world):
    dep = dependency(world)  # requested
    response = act(client_for(world.user("rte")), dep, "deliver")
    assert response.status_code == 400
    assertContains(response, f"{dep.key} is requested: it cannot be delivered now.", status_code=400)
    dep.refresh_from_db()
    assert (dep.state, dep.version) == ("requested", 1)


def test_a_step_missing_its_reason_keeps_the_form_open_with_the_error(client_for, world):
    dep = dependency(world)
    response = act(client_for(world.user("rte")), dep, "decline", reason="  ")
    assert response.status_code == 400
    page = main_of(response)
    assert "This field is required." in page or "needs a reason" in page
    assert "<details open>" in page
    dep.refresh_from_db()
    assert dep.state == "requested"


def test_committing_needs_a_pi_of_the_providers_cadence(client_for, world):
    dep = dependency(world, state=DependencyState.ACCEPTED)
    response = act(client_for(world.user("rte")), dep, "commit", committed_pi="")
    assert response.status_code == 400
    commit = next(form for form in response.context["action_forms"] if form.step.name == "commit")
    assert "committed_pi" in commit.errors
    dep.refresh_from_db()
    assert dep.state == "accepted"


def test_a_step_from_a_stale_page_is_refused_showing_the_dependency_as_it_is_now(world):
    dep = dependency(world)
    provider, architect = logged_in(world.user("rte")), logged_in(world.user("enterprise_architect"))
    provider.get(url("detail", dep))  # loaded at version 1
    assert act(architect, dep, "accept").status_code == 302

    response = provider.post(url("act", dep), {"action": "decline", "version": 1, "reason": "Not this PI."})

    assert response.status_code == 409
    assertContains(response, "Nothing was changed: someone else changed", status_code=409)
    assertContains(response, "so “Decline” was not taken.", status_code=409)
    assertContains(response, "It is now accepted.", status_code=409)
    assertContains(response, "Your input is kept in the step below", status_code=409)
    dep.refresh_from_db()
    assert (dep.state, dep.version) == ("accepted", 2)
    decline = next(form for form in response.context["action_forms"] if form.step.name == "decline")
    assert decline["version"].value() == "2" and decline["reason"].value() == "Not this PI."


def test_a_stale_step_no_longer_possible_shows_the_reason_that_was_not_sent(world):
    dep = dependency(world)
    assert act(logged_in(world.user("apmo")), dep, "cancel", reason="Bought it.").status_code == 302
    response = logged_in(world.user("rte")).post(
        url("act", dep), {"action": "decline", "version": 1, "reason": "Not this PI."}
    )
    assert response.status_code == 409
    assertContains(response, "“Decline” is not possible from here any more.", status_code=409)
    assertContains(response, "Your reason, not sent: “Not this PI.”", status_code=409)


def test_an_unknown_step_is_refused(client_for, world):
    dep = dependency(world)
    response = client_for(world.user("apmo")).post(url("act", dep), {"action": "teleport", "version": 1})
    assert response.status_code == 400
    assertContains(response, "Choose one of the steps on this page.", status_code=400)


def test_the_history_table_shows_who_when_from_to_flag_and_reason(world):
    dep = dependency(world)
    rte, other_rte = logged_in(world.user("rte")), logged_in(world.user("other_rte"))
    act(rte, dep, "accept")
    act(rte, dep, "flag", flag="at_risk", reason="Vendor SDK late.")
    act(other_rte, dep, "cancel", reason="Bought it instead.")

    response = rte.get(url("detail", dep))

    events = response.context["page"].events
    assert [(e.action, e.actor, e.from_state, e.to_state) for e in events] == [
        ("cancel", world.user("other_rte"), "accepted", "cancelled"),
        ("flag", world.user("rte"), "accepted", "accepted"),
        ("accept", world.user("rte"), "requested", "accepted"),
    ]
    page = main_of(response)
    history = page[page.index('id="dependency-history"') :]
    assert "3 steps, newest first" in history
    for text in ("Cancelled", "Flagged", "Accepted", "w-other_rte", "w-rte", "Vendor SDK late.", "Bought it instead."):
        assert text in history, text
    assert '<span class="badge badge-at_risk">At risk</span>' in history
    assert history.index("Bought it instead.") < history.index("Vendor SDK late.")
    assert f'datetime="{events[0].at.isoformat()}"' in history


# --- Visibility ------------------------------------------------------------------------------


def test_an_outsider_gets_404_on_another_portfolios_dependency(client_for, world):
    dep = dependency(world)
    outsider = world.user("outsider")
    MembershipFactory(user=outsider, portfolio=PortfolioFactory(), role="apmo")
    client = client_for(outsider)
    assert client.get(url("detail", dep)).status_code == 404
    assert client.get(url("edit", dep)).status_code == 404
    assert client.post(url("edit", dep), edit_data(dep, title="Hijacked")).status_code == 404
    assert act(client, dep, "cancel", reason="Mine now").status_code == 404
    assertNotContains(client.get(url("list")), dep.title)
    dep.refresh_from_db()
    assert (dep.state, dep.title) != ("cancelled", "Hijacked")


def test_a_missing_dependency_is_404(client_for, world):
    assert client_for(world.user("apmo")).get("/dependencies/999999/").status_code == 404


def test_the_map_path_is_not_taken_for_a_dependency_id():
    from django.urls import resolve

    assert resolve("/dependencies/map/").url_name == "dependency-map"
    assert resolve("/dependencies/new/").url_name == "dependency-create"
    assert resolve("/dependencies/12/").url_name == "dependency-detail"


# --- What slips if this slips ----------------------------------------------------------------


def test_a_slipping_dependency_shows_what_slips_downstream_with_counts(client_for, world):
    third = TrainFactory(value_stream=world.other_value_stream, name="Collections ART")
    needing = FeatureFactory(
        train=world.other_art,
        key="LOA-3",
        name="Instant loan offer",
        epic=EpicFactory(portfolio=world.portfolio, key="EP-7", title="Instant lending"),
    )
    next_feature = FeatureFactory(train=third, key="COL-1", name="Early arrears contact")
    dep = committed(world, 4, key="DEP-1", title="Card tokenisation API", consumer_feature=needing)  # red: late
    downstream = dependency(
        world,
        consumer=third,
        provider=world.other_art,
        key="DEP-2",
        title="Loan status feed",
        provider_feature=needing,
        consumer_feature=next_feature,
    )

    response = client_for(world.user("viewer")).get(url("detail", dep))

    impact = response.context["page"].impact
    assert impact.counts == {"features": 2, "dependencies": 1, "epics": 1, "trains": 2}
    page = main_of(response)
    section = page[page.index('id="slip-impact"') :]
    for text in (
        "What slips if this slips",
        "LOA-3",
        "COL-1",
        "Early arrears contact",
        "DEP-2",
        "Loan status feed",
        "EP-7",
        "Instant lending",
        "Collections ART",
        "Loan Origination ART",
    ):
        assert text in section, text
    assert f'href="{url("detail", downstream)}"' in section
    assert "<dt>Dependencies downstream</dt><dd>1</dd>" in section


def test_a_flagged_dependency_shows_its_slip_impact_and_an_on_time_one_does_not(client_for, world):
    flagged = committed(world, 2, flag=DependencyFlag.BLOCKED, flag_reason="PCI audit")
    on_time = committed(world, 2)
    client = client_for(world.user("viewer"))
    assert client.get(url("detail", flagged)).context["page"].impact is not None
    assertContains(client.get(url("detail", flagged)), "Nothing is linked downstream yet")
    assert client.get(url("detail", on_time)).context["page"].impact is None
    assertNotContains(client.get(url("detail", on_time)), "What slips if this slips")


# --- Query counts: the same bound on the small and the medium demo ---------------------------


@pytest.mark.parametrize("query", ["", "?late=true&cross_value_stream=true", "?state=open&page=2"])
@pytest.mark.parametrize("role", ["viewer", "rte", "apmo"])
def test_list_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, query, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(url("list") + query)
    assert response.status_code == 200
    if not query:
        assert len(response.context["page_obj"].object_list) == 50


@pytest.mark.parametrize("role", ["rte", "apmo"])
def test_raise_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, role, django_assert_max_num_queries
):
    client = client_for(demo.users[role])
    with django_assert_max_num_queries(CREATE_QUERIES):
        response = client.get(url("create"))
    assert response.status_code == 200


def _demo_dependency(demo, **filters):
    return (
        Dependency.objects.filter(portfolio=demo.portfolio, **filters)
        .exclude(consumer_feature=None)
        .order_by("pk")
        .first()
    )


@pytest.mark.parametrize("state", ["accepted", "committed", "delivered"])
def test_dependency_page_query_count_is_the_same_on_small_and_medium_demo(
    client_for, demo, state, django_assert_max_num_queries
):
    dep = _demo_dependency(demo, state=state, flag="")
    dep.refresh_from_db()
    client = client_for(demo.users["apmo"])  # may take every step: the most forms
    steps = 0
    if dep.is_late_on(TODAY):
        from valuestreams.dependency_map import slip_impact

        steps = slip_impact(dep).steps + 1
    with django_assert_max_num_queries(DETAIL_QUERIES + steps):
        response = client.get(url("detail", dep))
    assert response.status_code == 200


def test_a_slipping_dependency_page_costs_one_query_per_step_downstream(
    client_for, demo, django_assert_max_num_queries
):
    dep = _demo_dependency(demo, flag__in=["at_risk", "blocked"])
    client = client_for(demo.users["apmo"])
    response = client.get(url("detail", dep))
    impact = response.context["page"].impact
    assert impact is not None and impact.features
    with django_assert_max_num_queries(DETAIL_QUERIES + impact.steps + 1):
        client.get(url("detail", dep))
