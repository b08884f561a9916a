"""The roadmap API: capabilities, features and milestones (CRUD with the roadmap's
permissions, filters, ETag and If-Match), and the derived portfolio roadmap."""

import pytest

from roadmap.models import Milestone
from tests import factories
from valuestreams.models import Capability, Feature

pytestmark = pytest.mark.django_db


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- Capabilities -----------------------------------------------------------------------


def test_members_list_capabilities_with_their_placement(rm, api_client_for):
    epic = rm.epic()
    capability = rm.capability(epic=epic, pi=rm.pis[1], committed=True, key="CAP-1")
    rm.feature(capability=capability)
    factories.CapabilityFactory(train=factories.SolutionTrainFactory())  # another portfolio's

    rows = results(api_client_for(rm.user("viewer")).get("/api/v1/capabilities/"))

    assert [row["id"] for row in rows] == [capability.pk]
    row = rows[0]
    assert row["train"]["id"] == rm.solution_train.pk
    assert (row["epic"]["key"], row["program_increment"]["name"]) == (epic.key, "PI 1")
    assert (row["commitment"], row["feature_count"], row["value_stream"]) == ("committed", 1, rm.value_stream.pk)


def test_capabilities_filter_by_pi_epic_and_placement(rm, api_client_for):
    epic = rm.epic()
    placed = rm.capability(epic=epic, pi=rm.pis[2])
    unplaced = rm.capability()
    api = api_client_for(rm.user("viewer"))

    assert [r["id"] for r in results(api.get("/api/v1/capabilities/", {"program_increment": rm.pis[2].pk}))] == [
        placed.pk
    ]
    assert [r["id"] for r in results(api.get("/api/v1/capabilities/", {"epic": epic.pk}))] == [placed.pk]
    assert [r["id"] for r in results(api.get("/api/v1/capabilities/", {"unplaced": "true"}))] == [unplaced.pk]


def test_the_ste_creates_a_capability(rm, api_client_for):
    response = api_client_for(rm.user("ste")).post(
        "/api/v1/capabilities/",
        {"train": rm.solution_train.pk, "key": "CAP-5", "name": "Rules", "program_increment": rm.pis[2].pk},
    )
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"1"'
    assert Capability.objects.get(train=rm.solution_train, key="CAP-5").program_increment == rm.pis[2]


@pytest.mark.parametrize("role", ["viewer", "rte", "other_rte", "enterprise_architect"])
def test_others_may_not_create_capabilities_on_the_solution_train(rm, api_client_for, role):
    response = api_client_for(rm.user(role)).post(
        "/api/v1/capabilities/", {"train": rm.solution_train.pk, "key": "CAP-5", "name": "Rules"}
    )
    assert response.status_code == 403
    assert not Capability.objects.filter(train=rm.solution_train, key="CAP-5").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"program_increment": "offset"}, "program_increment"),
        ({"program_increment": "later", "commitment": "committed"}, "commitment"),
        ({"commitment": "sort of"}, "commitment"),
        ({"epic": 999999}, "epic"),
    ],
)
def test_bad_capabilities_answer_400_naming_the_field(rm, api_client_for, change, field):
    pis = {"offset": rm.offset_pis[1].pk, "later": rm.pis[3].pk}
    change = {k: pis.get(v, v) for k, v in change.items()}
    response = api_client_for(rm.user("ste")).post(
        "/api/v1/capabilities/", {"train": rm.solution_train.pk, "key": "CAP-5", "name": "Rules", **change}
    )
    assert response.status_code == 400
    assert field in response.json()


def test_a_capability_on_an_art_of_a_solution_train_is_refused(rm, api_client_for):
    response = api_client_for(rm.user("apmo")).post(
        "/api/v1/capabilities/", {"train": rm.art.pk, "key": "CAP-5", "name": "Rules"}
    )
    assert response.status_code == 400
    assert "train" in response.json()


def test_a_stale_if_match_answers_412_with_the_current_state(rm, api_client_for):
    capability = rm.capability(pi=rm.pis[2])
    api = api_client_for(rm.user("ste"))
    url = f"/api/v1/capabilities/{capability.pk}/"
    etag = api.get(url)["ETag"]

    moved = api.patch(url, {"program_increment": rm.pis[3].pk}, HTTP_IF_MATCH=etag)
    assert moved.status_code == 200 and moved["ETag"] == '"2"'
    stale = api.patch(url, {"program_increment": rm.pis[4].pk}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current"]["program_increment"]["id"] == rm.pis[3].pk
    assert stale["ETag"] == '"2"'


def test_the_train_of_a_capability_cannot_change(rm, api_client_for):
    capability = rm.capability()
    response = api_client_for(rm.user("apmo")).patch(
        f"/api/v1/capabilities/{capability.pk}/", {"train": rm.other_art.pk, "name": "Renamed"}
    )
    assert response.status_code == 200
    capability.refresh_from_db()
    assert (capability.train, capability.name) == (rm.solution_train, "Renamed")


def test_deleting_honours_if_match(rm, api_client_for):
    capability = rm.capability()
    api = api_client_for(rm.user("ste"))
    url = f"/api/v1/capabilities/{capability.pk}/"
    assert api.delete(url, HTTP_IF_MATCH='"5"').status_code == 412
    assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 204
    assert not Capability.objects.filter(pk=capability.pk).exists()


def test_the_viewer_may_not_change_or_delete_a_capability(rm, api_client_for):
    capability = rm.capability()
    api = api_client_for(rm.user("viewer"))
    assert api.patch(f"/api/v1/capabilities/{capability.pk}/", {"name": "x"}).status_code == 403
    assert api.delete(f"/api/v1/capabilities/{capability.pk}/").status_code == 403


def test_another_portfolios_capability_is_not_found(rm, api_client_for):
    capability = factories.CapabilityFactory(train=factories.SolutionTrainFactory())
    assert api_client_for(rm.user("apmo")).get(f"/api/v1/capabilities/{capability.pk}/").status_code == 404


# --- Features ---------------------------------------------------------------------------


def test_the_rte_places_their_feature_and_another_rte_may_not(rm, api_client_for):
    feature = rm.feature()
    iteration = rm.pis[2].iterations.get(number=1)
    url = f"/api/v1/features/{feature.pk}/"

    refused = api_client_for(rm.user("other_rte")).patch(url, {"iteration": iteration.pk})
    assert refused.status_code == 403
    placed = api_client_for(rm.user("rte")).patch(url, {"iteration": iteration.pk})
    assert placed.status_code == 200, placed.content
    assert (placed.json()["program_increment"]["id"], placed.json()["iteration"]["id"]) == (rm.pis[2].pk, iteration.pk)


def test_features_filter_by_the_epic_of_their_capability(rm, api_client_for):
    epic = rm.epic()
    capability = rm.capability(epic=epic)
    through_capability = rm.feature(capability=capability)
    direct = rm.feature(epic=epic)
    rm.feature()

    rows = results(api_client_for(rm.user("viewer")).get("/api/v1/features/", {"epic": epic.pk}))

    assert {row["id"] for row in rows} == {through_capability.pk, direct.pk}


def test_a_feature_is_created_on_an_art(rm, api_client_for):
    capability = rm.capability()
    response = api_client_for(rm.user("rte")).post(
        "/api/v1/features/", {"train": rm.art.pk, "key": "CIA-1", "name": "Limits", "capability": capability.pk}
    )
    assert response.status_code == 201, response.content
    assert Feature.objects.get(train=rm.art, key="CIA-1").capability == capability


# --- Milestones -------------------------------------------------------------------------


def test_milestones_of_the_portfolio_and_of_trains(rm, api_client_for):
    api = api_client_for(rm.user("portfolio_manager"))
    created = api.post(
        "/api/v1/milestones/", {"portfolio": rm.portfolio.pk, "name": "Board", "date": rm.pis[2].start_date}
    )
    assert created.status_code == 201, created.content
    assert created.json()["program_increment"]["id"] == rm.pis[2].pk
    factories.MilestoneFactory(portfolio=rm.portfolio, train=rm.other_art, date=rm.pis[3].start_date)

    portfolio_level = results(api.get("/api/v1/milestones/", {"portfolio_level": "true"}))
    assert [m["name"] for m in portfolio_level] == ["Board"]
    assert len(results(api.get("/api/v1/milestones/", {"train": rm.other_art.pk}))) == 1


def test_the_ste_may_add_milestones_to_their_train_but_not_the_portfolio(rm, api_client_for):
    api = api_client_for(rm.user("ste"))
    portfolio = api.post("/api/v1/milestones/", {"portfolio": rm.portfolio.pk, "name": "x", "date": rm.today})
    assert portfolio.status_code == 403
    train = api.post(
        "/api/v1/milestones/",
        {
            "portfolio": rm.portfolio.pk,
            "train": rm.solution_train.pk,
            "name": "Beta",
            "date": rm.today,
            "kind": "learning",
        },
    )
    assert train.status_code == 201, train.content
    assert Milestone.objects.get(portfolio=rm.portfolio, name="Beta").train == rm.solution_train


# --- The derived roadmap ------------------------------------------------------------------


def test_the_roadmap_api_returns_lanes_items_and_milestones(rm, api_client_for):
    epic = rm.epic(touches=[rm.value_stream], target=rm.pis[1])
    rm.capability(epic=epic, pi=rm.pis[1], committed=True)
    rm.feature(epic=epic, pi=rm.pis[2])
    targeted = rm.epic(touches=[rm.other_value_stream], target=rm.pis[3])
    factories.MilestoneFactory(portfolio=rm.portfolio, name="Deadline", date=rm.pis[2].start_date)

    data = api_client_for(rm.user("viewer")).get("/api/v1/roadmap/").json()

    assert [pi["id"] for pi in data["program_increments"]] == [pi.pk for pi in rm.pis[1:5]]
    assert data["current_pi"]["id"] == rm.pis[1].pk and data["default_view"]
    lanes = {lane["value_stream"]["key"]: lane for lane in data["lanes"]}
    item = lanes["CARD"]["items"][0]
    assert (item["epic"]["key"], item["first_pi"]["id"], item["last_pi"]["id"]) == (
        epic.key,
        rm.pis[1].pk,
        rm.pis[2].pk,
    )
    assert (item["status"], item["source"], item["starts_later_than_target"]) == ("mixed", "work", False)
    assert [(s["program_increment"], s["status"]) for s in item["segments"]] == [
        (rm.pis[1].pk, "committed"),
        (rm.pis[2].pk, "forecast"),
    ]
    target_item = lanes["LEND"]["items"][0]
    assert (target_item["epic"]["id"], target_item["status"]) == (targeted.pk, "target")
    assert [m["name"] for m in data["milestones"]] == ["Deadline"]
    assert lanes["CARD"]["solution_roadmaps"] == [rm.solution_train.pk]


def test_roadmap_items_have_the_fields_the_schema_names(rm, api_client_for):
    from roadmap.api.serializers import RoadmapItemSerializer

    rm.capability(epic=rm.epic(), pi=rm.pis[1])
    data = api_client_for(rm.user("viewer")).get("/api/v1/roadmap/", {"expand": rm.value_stream.pk}).json()

    lane = next(lane for lane in data["lanes"] if lane["items"])
    fields = RoadmapItemSerializer().fields
    for item in (lane["items"][0], lane["capabilities"][0]):
        assert set(item) == set(fields)
        assert set(item["epic"]) == set(fields["epic"].fields)
        assert set(item["first_pi"]) == set(fields["first_pi"].fields)
        assert set(item["segments"][0]) == set(fields["segments"].child.fields)


def test_the_roadmap_api_takes_the_page_filters(rm, api_client_for):
    rm.capability(epic=rm.epic(), pi=rm.pis[0])
    api = api_client_for(rm.user("viewer"))

    data = api.get(
        "/api/v1/roadmap/",
        {
            "pi_from": rm.pis[0].pk,
            "pi_to": rm.pis[5].pk,
            "value_stream": rm.value_stream.pk,
            "expand": rm.value_stream.pk,
        },
    ).json()

    assert len(data["program_increments"]) == 6 and not data["default_view"]
    assert [lane["value_stream"]["id"] for lane in data["lanes"]] == [rm.value_stream.pk]
    assert data["lanes"][0]["expanded"] and len(data["lanes"][0]["capabilities"]) == 1


@pytest.mark.parametrize("params", [{"pi_from": "x"}, {"state": "nope"}, {"pi_to": "offset"}])
def test_the_roadmap_api_answers_400_to_bad_filters(rm, api_client_for, params):
    params = {k: rm.offset_pis[1].pk if v == "offset" else v for k, v in params.items()}
    response = api_client_for(rm.user("viewer")).get("/api/v1/roadmap/", params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_the_roadmap_api_answers_404_for_a_portfolio_not_yours(rm, api_client_for):
    other = factories.PortfolioFactory()
    assert api_client_for(rm.user("viewer")).get("/api/v1/roadmap/", {"portfolio": other.pk}).status_code == 404
    assert api_client_for(rm.user("viewer")).get("/api/v1/roadmap/", {"portfolio": rm.portfolio.pk}).status_code == 200


def test_the_schema_describes_the_roadmap_as_one_object(rm, client_for):
    import yaml

    client = client_for(rm.user("viewer"))
    schema = yaml.safe_load(client.get("/api/schema/").content)
    answer = schema["paths"]["/api/v1/roadmap/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Roadmap"}
