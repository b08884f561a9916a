"""The OpenAPI document, its docs page, and logins on the API as a whole."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

LISTS = (
    "/api/v1/portfolios/",
    "/api/v1/memberships/",
    "/api/v1/epics/",
    "/api/v1/wip-limits/",
    "/api/v1/value-streams/",
    "/api/v1/trains/",
    "/api/v1/solution-trains/",
    "/api/v1/arts/",
    "/api/v1/teams/",
    "/api/v1/status-reports/",
    "/api/v1/dependencies/",
    "/api/v1/cadences/",
    "/api/v1/program-increments/",
    "/api/v1/iterations/",
    "/api/v1/cadence-events/",
)


def test_the_schema_answers_a_logged_in_user(world, client_for):
    response = client_for(world.user("viewer")).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/trains/{id}/", "/api/v1/auth/token/", "/api/v1/teams/"} <= set(paths)
    patch = paths["/api/v1/trains/{id}/"]["patch"]
    assert "If-Match" in [p["name"] for p in patch["parameters"]]
    assert "Without `If-Match` the write is accepted" in patch["description"]
    assert set(patch["responses"]) == {"200", "400", "401", "403", "404", "412"}
    assert "ETag" in patch["responses"]["200"]["headers"]
    error = patch["responses"]["403"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert set(paths["/api/v1/teams/"]["get"]["responses"]) == {"200", "400", "401", "403", "404"}


def test_the_docs_page_answers_a_logged_in_user_with_local_assets(world, client_for):
    response = client_for(world.user("viewer")).get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "drf_spectacular_sidecar" in page  # served from the sidecar, works offline
    assert "cdn.jsdelivr" not in page


def test_the_schema_and_docs_need_a_login(client):
    assert client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert "/accounts/login/" in docs["Location"]


@pytest.mark.parametrize("url", LISTS)
def test_anonymous_api_requests_are_refused(client, url):
    assert client.get(url).status_code in (401, 403)


def test_the_api_root_lists_the_endpoints_and_each_refuses_anonymous_callers(world, api_client_for, client):
    response = api_client_for(world.user("viewer")).get("/api/v1/")
    assert response.status_code == 200
    assert {path.split("/")[3] for path in LISTS} <= set(response.json())
    for name, url in response.json().items():
        assert client.get(url).status_code in (401, 403), name


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")
