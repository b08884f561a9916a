"""The Django admin: every model registered, its pages answer, changelists keep a fixed
number of queries, and edits made there keep the version and the audit history."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import HistoricalChanges

from portfolio.core.concurrency import update_versioned
from portfolio.models import EpicState, WipLimit
from tests import factories

DOMAIN_APPS = ("cadence", "portfolio", "valuestreams", "integration", "roadmap")
DOMAIN_MODELS = [
    model
    for label in DOMAIN_APPS
    for model in apps.get_app_config(label).get_models()
    if not issubclass(model, HistoricalChanges)
]


def admin_url(model_or_obj, view, *args):
    opts = model_or_obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def post_data(response) -> dict:
    """The data a browser would post back from an admin change page, unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                value = "on"
            data[bound.html_name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return data


def test_every_domain_model_is_registered_and_history_is_not():
    registered = set(admin.site._registry)
    assert {m.__name__ for m in DOMAIN_MODELS} - {m.__name__ for m in registered} == set()
    assert not [m for m in registered if issubclass(m, HistoricalChanges)]


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m.__name__)
def test_models_with_history_show_it_in_the_admin(model):
    if hasattr(model, "history"):
        assert isinstance(admin.site._registry[model], SimpleHistoryAdmin)


# Logs that the application writes (workflow steps, scheduled check runs): read-only.
WRITTEN_BY_THE_APP = {"DependencyEvent", "IntegrationCheckRun", "IntegrationOutcomeChange", "EpicDeferral"}


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_add_page_answer(admin_client, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    expected = 403 if model.__name__ in WRITTEN_BY_THE_APP else 200
    assert admin_client.get(admin_url(model, "add")).status_code == expected


def test_changelist_search_and_filters_answer(admin_client, world):
    dependency = factories.DependencyFactory(consumer=world.art, provider=world.other_art, needed_by_pi=world.pi)
    filters = {"q": "Card", "kind__exact": "art", "value_stream__portfolio__id__exact": world.portfolio.pk}
    response = admin_client.get(admin_url(world.art, "changelist"), filters)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [world.art]

    response = admin_client.get(admin_url(dependency, "changelist"), {"q": dependency.key, "state__exact": "requested"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [dependency]


def _epic(world):
    return factories.EpicFactory(portfolio=world.portfolio, owner=world.user("portfolio_manager"), target_pi=world.pi)


def _integration_point(world):
    point = factories.IntegrationPointFactory(portfolio=world.portfolio, program_increment=world.pi)
    point.criteria.create(text="Payments settle end to end")
    point.trains.add(world.art, world.other_art)
    return point


REPRESENTATIVE_ROWS = {
    "portfolio": lambda world: world.portfolio,
    "program_increment": lambda world: world.pi,
    "train": lambda world: world.art,
    "epic": _epic,
    "feature": lambda world: factories.FeatureFactory(train=world.art, program_increment=world.pi),
    "dependency": lambda world: factories.DependencyFactory(
        consumer=world.art, provider=world.other_art, needed_by_pi=world.pi
    ),
    "status_report": lambda world: factories.StatusReportFactory(train=world.art, author=world.user("rte")),
    "integration_point": _integration_point,
    "milestone": lambda world: factories.MilestoneFactory(portfolio=world.portfolio, train=world.art),
}


@pytest.mark.parametrize("build", REPRESENTATIVE_ROWS.values(), ids=REPRESENTATIVE_ROWS.keys())
def test_change_and_history_pages_answer(admin_client, world, build):
    obj = build(world)
    assert admin_client.get(admin_url(obj, "change", obj.pk)).status_code == 200
    assert admin_client.get(admin_url(obj, "history", obj.pk)).status_code == 200


def test_epic_revert_page_answers_though_wsjf_is_not_in_the_history(admin_client, world):
    epic = _epic(world)
    update_versioned(epic, expected_version=1, changes={"job_size": 13})
    oldest = epic.history.earliest()
    response = admin_client.get(admin_url(epic, "simple_history", epic.pk, oldest.history_id))
    assert response.status_code == 200


def test_admin_edit_moves_the_version_on_and_records_who_made_it(admin_client, admin_user, world):
    train = world.art
    data = post_data(admin_client.get(admin_url(train, "change", train.pk)))
    data["name"] = "Card Issuing ART (renamed)"

    response = admin_client.post(admin_url(train, "change", train.pk), data)

    assert response.status_code == 302
    train.refresh_from_db()
    assert (train.name, train.version) == ("Card Issuing ART (renamed)", 2)
    assert train.history.latest().history_user == admin_user


def test_admin_refuses_an_edit_made_on_a_stale_page(admin_client, world):
    train = world.art
    data = post_data(admin_client.get(admin_url(train, "change", train.pk)))
    update_versioned(train, expected_version=1, changes={"key": "CIX"})
    data["name"] = "Overwrites the other edit"

    response = admin_client.post(admin_url(train, "change", train.pk), data)

    assert response.status_code == 200
    assert "Someone else changed this train" in response.content.decode()
    train.refresh_from_db()
    assert (train.name, train.key, train.version) == ("Card Issuing ART", "CIX", 2)


def test_admin_revert_moves_the_version_forward_not_back(admin_client, world):
    epic = _epic(world)
    update_versioned(epic, expected_version=1, changes={"title": "Second title"})
    oldest = epic.history.earliest()
    url = admin_url(epic, "simple_history", epic.pk, oldest.history_id)

    response = admin_client.post(url, post_data(admin_client.get(url)))

    assert response.status_code == 302
    epic.refresh_from_db()
    assert epic.title != "Second title"
    assert epic.version == 3


def test_editing_an_inline_row_moves_its_version_on(admin_client, world):
    limit = WipLimit.objects.create(portfolio=world.portfolio, state=EpicState.ANALYZING, limit=3)
    data = post_data(admin_client.get(admin_url(world.portfolio, "change", world.portfolio.pk)))
    data["wip_limits-0-limit"] = "5"

    response = admin_client.post(admin_url(world.portfolio, "change", world.portfolio.pk), data)

    assert response.status_code == 302
    limit.refresh_from_db()
    assert (limit.limit, limit.version) == (5, 2)
    world.portfolio.refresh_from_db()
    assert world.portfolio.version == 2


def test_moving_an_epic_in_the_admin_stamps_the_state_change(admin_client, world):
    epic = _epic(world)
    data = post_data(admin_client.get(admin_url(epic, "change", epic.pk)))
    data["state"] = EpicState.REVIEWING

    assert admin_client.post(admin_url(epic, "change", epic.pk), data).status_code == 302
    epic.refresh_from_db()
    assert epic.state == EpicState.REVIEWING
    assert epic.state_changed_at is not None


def test_stored_status_reports_are_view_only(admin_client, world):
    report = factories.StatusReportFactory(train=world.art, author=world.user("rte"))
    url = admin_url(report, "change", report.pk)
    response = admin_client.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert admin_client.post(url, {"summary": "Rewritten"}).status_code == 403


def test_a_status_report_added_in_the_admin_follows_the_latest_one(admin_client, admin_user, world):
    earlier = factories.StatusReportFactory(train=world.art, author=world.user("rte"))
    data = {"train": world.art.pk, "health": "at_risk", "pi_confidence": 3, "summary": "Vendor API late."}

    response = admin_client.post(admin_url(earlier, "add"), data)

    assert response.status_code == 302
    report = world.art.status_reports.first()
    assert (report.based_on, report.author, report.health) == (earlier, admin_user, "at_risk")


# Changelists: the same query bound for 5 rows and for 30.


def _trains(count):
    portfolio = factories.PortfolioFactory()
    value_stream = factories.ValueStreamFactory(portfolio=portfolio)
    solution_train = factories.SolutionTrainFactory(value_stream=value_stream, engineer=factories.UserFactory())
    for _ in range(count - 1):
        factories.TrainFactory(
            value_stream=factories.ValueStreamFactory(portfolio=portfolio),
            solution_train=solution_train,
            engineer=factories.UserFactory(),
            cadence=portfolio.cadence,
        )


def _dependencies(count):
    for _ in range(count):
        dependency = factories.DependencyFactory(epic=None, raised_by=factories.UserFactory())
        dependency.needed_by_iteration = dependency.needed_by_pi.iterations.last()
        dependency.committed_pi = dependency.needed_by_pi
        dependency.committed_iteration = dependency.needed_by_pi.iterations.first()
        dependency.save()


def _features(count):
    train = factories.TrainFactory()
    pi = factories.ProgramIncrementFactory(cadence=train.value_stream.portfolio.cadence)
    epic = factories.EpicFactory(portfolio=train.value_stream.portfolio)
    capability = factories.CapabilityFactory(epic=epic)
    iterations = list(pi.iterations.all())
    for n in range(count):
        factories.FeatureFactory(
            train=train, capability=capability, epic=epic, program_increment=pi, iteration=iterations[n % 5]
        )


def _iterations(count):
    cadence = factories.CadenceFactory()
    for _ in range(count // 5):
        factories.ProgramIncrementFactory(cadence=cadence)


def _status_reports(count):
    for _ in range(count):
        factories.StatusReportFactory(author=factories.UserFactory())


CHANGELIST_ROWS = {
    "train": ("valuestreams.Train", _trains),
    "dependency": ("valuestreams.Dependency", _dependencies),
    "feature": ("valuestreams.Feature", _features),
    "iteration": ("cadence.Iteration", _iterations),
    "status_report": ("valuestreams.StatusReport", _status_reports),
}
# Measured 7–10 per changelist; the headroom is for middleware, not for rows (a query per
# row would add 5 at 5 rows and 30 at 30).
CHANGELIST_QUERY_BOUND = 12


@pytest.mark.parametrize("rows", [5, 30])
@pytest.mark.parametrize("label", CHANGELIST_ROWS.keys())
def test_changelist_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries, label, rows):
    model_name, build = CHANGELIST_ROWS[label]
    model = apps.get_model(model_name)
    build(rows)
    assert model.objects.count() >= rows
    url = admin_url(model, "changelist")

    with django_assert_max_num_queries(CHANGELIST_QUERY_BOUND):
        response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count()


def test_a_release_edited_in_the_admin_moves_its_roadmap_milestone_with_it(admin_client, world):
    from integration import releases

    release = releases.release_create(
        actor=world.user("apmo"),
        portfolio=world.portfolio,
        name="Cards 2.0",
        date=world.pi.start_date,
        value_streams=[world.value_stream],
    )
    data = post_data(admin_client.get(admin_url(release, "change", release.pk)))
    data["name"] = "Cards 2.1"
    data["date"] = str(world.pi.end_date)

    response = admin_client.post(admin_url(release, "change", release.pk), data)

    assert response.status_code == 302
    [milestone] = release.milestones.all()
    assert (milestone.name, milestone.date) == ("Cards 2.1 go-live", world.pi.end_date)
