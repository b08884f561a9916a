"""The integration API's routes, registered on the project's /api/v1/ router."""

from .views import IntegrationCheckRunViewSet, IntegrationPointViewSet, IntegrationResultViewSet


def register(router) -> None:
    router.register("integration-points", IntegrationPointViewSet, basename="integration-point")
    router.register(
        r"integration-points/(?P<point_id>[0-9]+)/check-runs",
        IntegrationCheckRunViewSet,
        basename="integration-point-check-run",
    )
    router.register(
        r"integration-points/(?P<point_id>[0-9]+)/results",
        IntegrationResultViewSet,
        basename="integration-point-result",
    )
