"""The roadmap pages: the portfolio roadmap with its filters and CSV export, the
solution roadmaps with their edit controls for those allowed (403 and no buttons for
others), and the edit forms (bad input, stale versions)."""

import csv
import io

import pytest
from django.urls import reverse

from roadmap.models import Milestone
from tests import factories
from valuestreams.models import Capability, Commitment

pytestmark = pytest.mark.django_db

ROADMAP = "/roadmap/"


def csv_rows(response) -> list[dict]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode())))


@pytest.fixture
def planned(rm):
    """Two epics on the solution train's roadmap and one only targeted in Lending."""
    rm.wallets = rm.epic(touches=[rm.value_stream], target=rm.pis[1], title="Tokenised wallets")
    rm.cap = rm.capability(epic=rm.wallets, pi=rm.pis[1], committed=True, key="CAP-7", name="Wallet rules")
    rm.late_feature = rm.feature(epic=rm.wallets, pi=rm.pis[3], key="CIA-9", name="Wallet limits")
    rm.loans = rm.epic(touches=[rm.other_value_stream], target=rm.pis[2], title="Instant loans", state="analyzing")
    return rm


# --- The portfolio roadmap --------------------------------------------------------------


def test_the_roadmap_lays_out_lanes_bars_and_milestones(planned, client_for):
    factories.MilestoneFactory(portfolio=planned.portfolio, name="Regulator deadline", date=planned.pis[2].start_date)
    response = client_for(planned.user("viewer")).get(ROADMAP)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Card Payments" in html and "Lending" in html
    assert "rm-bar rm-bar--mixed" in html  # the wallets: committed, then forecast
    assert "rm-bar rm-bar--target" in html  # the loans: not split, on their target PI
    assert "Regulator deadline" in html
    assert 'class="rm-today' in html
    assert "New milestone" not in html
    assert reverse("roadmap:solution-roadmap", args=[planned.solution_train.pk]) in html


def test_the_roadmap_flags_epics_whose_work_starts_after_their_target(rm, client_for):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[1], title="Late wallets")
    rm.capability(epic=epic, pi=rm.pis[2])
    html = client_for(rm.user("viewer")).get(ROADMAP).content.decode()
    assert "rm-bar rm-bar--forecast is-late" in html
    assert "starts later than its target PI 1" in html


def test_portfolio_managers_get_the_new_milestone_button(planned, client_for):
    html = client_for(planned.user("portfolio_manager")).get(ROADMAP).content.decode()
    assert reverse("roadmap:milestone-create") in html


def test_filters_narrow_the_page(planned, client_for):
    client = client_for(planned.user("viewer"))

    by_stream = client.get(ROADMAP, {"value_stream": planned.other_value_stream.pk}).content.decode()
    assert "Instant loans" in by_stream and "Tokenised wallets" not in by_stream
    by_state = client.get(ROADMAP, {"state": "analyzing"}).content.decode()
    assert "Instant loans" in by_state and "Tokenised wallets" not in by_state
    all_pis = client.get(ROADMAP, {"pi_from": planned.pis[0].pk, "pi_to": planned.pis[5].pk})
    assert all_pis.context["roadmap"].shows_all_pis


def test_a_lane_expands_to_show_its_capabilities(planned, client_for):
    response = client_for(planned.user("viewer")).get(ROADMAP, {"expand": planned.value_stream.pk})

    html = response.content.decode()
    assert "Capabilities of Card Payments" in html
    assert "CAP-7 Wallet rules" in html
    assert "Hide capabilities" in html


@pytest.mark.parametrize(
    "params",
    [
        {"pi_from": "abc"},
        {"value_stream": "999999"},
        {"state": "sideways"},
        {"expand": "x"},
    ],
)
def test_bad_filters_answer_400_with_the_default_view(planned, client_for, params):
    response = client_for(planned.user("viewer")).get(ROADMAP, params)

    assert response.status_code == 400
    assert response.context["filter_form"].errors
    assert response.context["roadmap"].is_default_window


def test_a_pi_of_another_cadence_is_not_a_filter(planned, client_for):
    response = client_for(planned.user("viewer")).get(ROADMAP, {"pi_from": planned.offset_pis[1].pk})
    assert response.status_code == 400
    assert "pi_from" in response.context["filter_form"].errors


def test_the_first_pi_must_not_come_after_the_last(planned, client_for):
    response = client_for(planned.user("viewer")).get(
        ROADMAP, {"pi_from": planned.pis[3].pk, "pi_to": planned.pis[1].pk}
    )
    assert response.status_code == 400
    assert "pi_to" in response.context["filter_form"].errors


def test_someone_without_a_portfolio_sees_the_no_portfolio_page(world, client_for):
    response = client_for(world.user("outsider")).get(ROADMAP)
    assert response.status_code == 200
    assert "roadmap" not in response.context


# --- CSV ---------------------------------------------------------------------------------


def test_the_csv_exports_what_is_shown(planned, client_for):
    factories.MilestoneFactory(portfolio=planned.portfolio, name="Regulator deadline", date=planned.pis[2].start_date)
    response = client_for(planned.user("viewer")).get("/roadmap/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    epics = {(r["value_stream"], r["key"]): r for r in rows if r["type"] == "epic"}
    wallets = epics[("Card Payments", planned.wallets.key)]
    assert (wallets["first_pi"], wallets["last_pi"], wallets["status"]) == ("PI 1", "PI 3", "mixed")
    assert (wallets["source"], wallets["target_pi"], wallets["starts_later_than_target"]) == (
        "capabilities and features",
        "PI 1",
        "no",
    )
    assert (wallets["capabilities"], wallets["features"]) == ("1", "1")
    loans = epics[("Lending", planned.loans.key)]
    assert (loans["status"], loans["source"], loans["first_pi"]) == ("target", "target PI", "PI 2")
    assert [r["name"] for r in rows if r["type"] == "milestone"] == ["Regulator deadline"]


def test_the_csv_takes_the_page_filters_and_its_format_parameter(planned, client_for):
    client = client_for(planned.user("viewer"))
    params = {"value_stream": planned.other_value_stream.pk, "expand": planned.other_value_stream.pk}

    export = client.get("/roadmap/export.csv", params)
    same = client.get(ROADMAP, {**params, "format": "csv"})

    assert export.content == same.content
    assert {r["value_stream"] for r in csv_rows(export)} == {"Lending"}


def test_the_csv_lists_the_capabilities_of_expanded_lanes(planned, client_for):
    rows = csv_rows(client_for(planned.user("viewer")).get("/roadmap/export.csv", {"expand": planned.value_stream.pk}))
    assert [(r["key"], r["name"], r["status"]) for r in rows if r["type"] == "capability"] == [
        ("CAP-7", "Wallet rules", "committed")
    ]


def test_the_csv_does_not_let_a_spreadsheet_run_a_title(rm, client_for):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[1], title='=HYPERLINK("http://x")')
    rows = csv_rows(client_for(rm.user("viewer")).get("/roadmap/export.csv"))
    assert next(r for r in rows if r["key"] == epic.key)["name"] == '\'=HYPERLINK("http://x")'


# --- Solution roadmaps -------------------------------------------------------------------


def solution_url(train):
    return reverse("roadmap:solution-roadmap", args=[train.pk])


def test_the_ste_sees_edit_controls_on_their_solution_roadmap(planned, client_for):
    response = client_for(planned.user("ste")).get(solution_url(planned.solution_train))

    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("roadmap:capability-create", args=[planned.solution_train.pk]) in html
    assert reverse("roadmap:capability-edit", args=[planned.cap.pk]) in html
    assert reverse("roadmap:feature-edit", args=[planned.late_feature.pk]) in html
    assert "Tokenised wallets" in html


@pytest.mark.parametrize("role", ["viewer", "rte", "other_rte", "enterprise_architect"])
def test_others_see_the_solution_roadmap_without_edit_controls(planned, client_for, role):
    html = client_for(planned.user(role)).get(solution_url(planned.solution_train)).content.decode()

    assert reverse("roadmap:capability-create", args=[planned.solution_train.pk]) not in html
    assert reverse("roadmap:capability-edit", args=[planned.cap.pk]) not in html
    if role != "rte":  # the RTE edits their own ART's features, shown on the solution train's roadmap
        assert reverse("roadmap:feature-edit", args=[planned.late_feature.pk]) not in html


def test_the_rte_edits_only_their_arts_features_on_the_solution_roadmap(planned, client_for):
    html = client_for(planned.user("rte")).get(solution_url(planned.solution_train)).content.decode()
    assert reverse("roadmap:feature-edit", args=[planned.late_feature.pk]) in html
    assert reverse("roadmap:capability-edit", args=[planned.cap.pk]) not in html


def test_an_epic_touching_the_value_stream_is_fed_back_at_its_target_pi(planned, client_for):
    html = client_for(planned.user("viewer")).get(solution_url(planned.other_art)).content.decode()
    assert "Instant loans" in html
    assert "not split here yet" in html
    assert "sr-cell is-target" in html


def test_the_solution_roadmap_flags_work_later_than_the_target(rm, client_for):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[1], title="Late wallets")
    rm.capability(epic=epic, pi=rm.pis[2])
    html = client_for(rm.user("viewer")).get(solution_url(rm.solution_train)).content.decode()
    assert "sr-row is-late" in html
    assert "Starts here after its target" in html


def test_an_art_of_a_solution_train_is_on_its_solution_trains_roadmap(rm, client_for):
    response = client_for(rm.user("viewer")).get(solution_url(rm.art))
    assert response.status_code == 302
    assert response["Location"] == solution_url(rm.solution_train) + f"#train-{rm.art.pk}"


def test_another_portfolios_roadmap_is_not_found(rm, client_for):
    other = factories.TrainFactory()
    assert client_for(rm.user("viewer")).get(solution_url(other)).status_code == 404
    capability = factories.CapabilityFactory(train=factories.SolutionTrainFactory())
    assert client_for(rm.user("apmo")).get(reverse("roadmap:capability-edit", args=[capability.pk])).status_code == 404


def test_the_list_of_solution_roadmaps(rm, client_for):
    html = client_for(rm.user("viewer")).get(reverse("roadmap:roadmap-list")).content.decode()
    assert solution_url(rm.solution_train) in html and solution_url(rm.other_art) in html
    assert solution_url(rm.art) not in html


# --- Edit pages: permissions -------------------------------------------------------------

EDITORS = {
    "solution_train": {"apmo", "portfolio_manager", "ste"},
    "art": {"apmo", "portfolio_manager", "ste", "rte"},
    "other_art": {"apmo", "portfolio_manager", "other_rte"},
}


@pytest.mark.parametrize("train_name", EDITORS)
@pytest.mark.parametrize(
    "role", ["viewer", "apmo", "portfolio_manager", "enterprise_architect", "rte", "other_rte", "ste"]
)
def test_edit_pages_answer_403_to_those_who_may_not_edit(rm, client_for, train_name, role):
    train = getattr(rm, train_name)
    client = client_for(rm.user(role))
    allowed = role in EDITORS[train_name]
    feature = rm.feature(train=train) if not train.is_solution_train else None
    if feature is not None:
        response = client.post(
            reverse("roadmap:feature-edit", args=[feature.pk]),
            {"version": 1, "program_increment": rm.pis[2].pk, "commitment": "forecast"},
        )
        assert response.status_code == (302 if allowed else 403)
    if train.is_solution_train or not train.solution_train_id:
        response = client.get(reverse("roadmap:capability-create", args=[train.pk]))
        assert response.status_code == (200 if allowed else 403)
        response = client.get(reverse("roadmap:train-milestone-create", args=[train.pk]))
        assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert "Save" not in response.content.decode()


# --- Edit pages: saving, bad input, conflicts ---------------------------------------------


def capability_data(capability, **changes):
    data = {
        "version": capability.version,
        "key": capability.key,
        "name": capability.name,
        "epic": capability.epic_id or "",
        "program_increment": capability.program_increment_id or "",
        "commitment": capability.commitment,
        "state": capability.state,
    }
    return {**data, **changes}


def test_the_ste_moves_a_capability_to_a_later_pi(planned, client_for):
    url = reverse("roadmap:capability-edit", args=[planned.cap.pk])
    response = client_for(planned.user("ste")).post(
        url, capability_data(planned.cap, program_increment=planned.pis[2].pk, commitment="forecast")
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#capability-{planned.cap.pk}")
    planned.cap.refresh_from_db()
    assert (planned.cap.program_increment, planned.cap.version) == (planned.pis[2], 2)


def test_a_pi_of_another_cadence_is_a_form_error(planned, client_for):
    url = reverse("roadmap:capability-edit", args=[planned.cap.pk])
    response = client_for(planned.user("ste")).post(
        url, capability_data(planned.cap, program_increment=planned.offset_pis[1].pk)
    )
    assert response.status_code == 400
    assert "program_increment" in response.context["form"].errors


def test_committing_a_later_pi_is_a_form_error(planned, client_for):
    url = reverse("roadmap:capability-edit", args=[planned.cap.pk])
    response = client_for(planned.user("ste")).post(
        url, capability_data(planned.cap, program_increment=planned.pis[3].pk)
    )
    assert response.status_code == 400
    assert "commitment" in response.context["form"].errors
    assert "has not started yet" in response.content.decode()


def test_a_stale_edit_shows_the_conflict_and_keeps_the_input(planned, client_for):
    url = reverse("roadmap:capability-edit", args=[planned.cap.pk])
    Capability.objects.filter(pk=planned.cap.pk).update(name="Renamed meanwhile", version=2)

    response = client_for(planned.user("ste")).post(url, capability_data(planned.cap, name="My name", version=1))

    assert response.status_code == 409
    html = response.content.decode()
    assert "someone else changed this" in html
    assert "Renamed meanwhile" in html and 'value="My name"' in html
    assert response.context["form"]["version"].value() == 2
    planned.cap.refresh_from_db()
    assert planned.cap.name == "Renamed meanwhile"


def test_the_ste_adds_a_capability(planned, client_for):
    url = reverse("roadmap:capability-create", args=[planned.solution_train.pk])
    response = client_for(planned.user("ste")).post(
        url,
        {"key": "CAP-20", "name": "Wallet rollout", "epic": planned.wallets.pk, "commitment": "forecast", "state": "backlog",
         "program_increment": planned.pis[4].pk},
    )  # fmt: skip
    assert response.status_code == 302
    assert Capability.objects.get(train=planned.solution_train, key="CAP-20").program_increment == planned.pis[4]


def test_the_rte_places_a_feature_on_an_iteration(planned, client_for):
    iteration = planned.pis[1].iterations.get(number=3)
    url = reverse("roadmap:feature-edit", args=[planned.late_feature.pk])
    response = client_for(planned.user("rte")).post(
        url,
        {"version": 1, "program_increment": planned.pis[1].pk, "iteration": iteration.pk, "commitment": "committed"},
    )
    assert response.status_code == 302
    planned.late_feature.refresh_from_db()
    assert (planned.late_feature.iteration, planned.late_feature.commitment) == (iteration, Commitment.COMMITTED)


def test_an_iteration_of_another_pi_is_a_form_error(planned, client_for):
    url = reverse("roadmap:feature-edit", args=[planned.late_feature.pk])
    response = client_for(planned.user("rte")).post(
        url,
        {"version": 1, "program_increment": planned.pis[2].pk, "iteration": planned.pis[1].iterations.first().pk,
         "commitment": "forecast"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "iteration" in response.context["form"].errors


def test_milestones_are_added_changed_and_deleted(planned, client_for):
    client = client_for(planned.user("portfolio_manager"))
    day = planned.pis[2].start_date
    response = client.post(
        reverse("roadmap:milestone-create"), {"name": "Board review", "kind": "fixed_date", "date": day.isoformat()}
    )
    assert response.status_code == 302
    milestone = Milestone.objects.get(portfolio=planned.portfolio, name="Board review")
    assert (milestone.train, milestone.program_increment) == (None, planned.pis[2])

    response = client.post(
        reverse("roadmap:milestone-edit", args=[milestone.pk]),
        {"version": 1, "name": "Board review (moved)", "kind": "fixed_date", "date": planned.pis[3].start_date},
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.name, milestone.program_increment) == ("Board review (moved)", planned.pis[3])

    stale = client.post(reverse("roadmap:milestone-delete", args=[milestone.pk]), {"version": 1})
    assert stale.status_code == 302 and Milestone.objects.filter(pk=milestone.pk).exists()
    client.post(reverse("roadmap:milestone-delete", args=[milestone.pk]), {"version": 2})
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


def test_a_milestone_outside_the_chosen_pi_is_a_form_error(planned, client_for):
    response = client_for(planned.user("ste")).post(
        reverse("roadmap:train-milestone-create", args=[planned.solution_train.pk]),
        {"name": "Beta", "kind": "learning", "date": planned.pis[3].start_date, "program_increment": planned.pis[2].pk},
    )
    assert response.status_code == 400
    assert "date" in response.context["form"].errors


def test_the_viewer_may_not_delete_a_milestone(planned, client_for):
    milestone = factories.MilestoneFactory(portfolio=planned.portfolio)
    response = client_for(planned.user("viewer")).post(reverse("roadmap:milestone-delete", args=[milestone.pk]))
    assert response.status_code == 403
    assert Milestone.objects.filter(pk=milestone.pk).exists()
