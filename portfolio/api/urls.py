"""API routes: /api/v1/ (each app's viewsets, registered below), the token endpoint,
the OpenAPI document at /api/schema/ and its browsable page at /api/docs/.

Everything asks for a login: the API through a session or ``Authorization: Token ...``
(a token from /api/v1/auth/token/), the docs page through the login page.
"""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from cadence.api import routes as cadence_routes
from integration.api import routes as integration_routes
from integration.release_api import register_release_routes
from portfolio.api.views import AuthTokenView, EpicViewSet, MembershipViewSet, PortfolioViewSet, WipLimitViewSet
from roadmap.api import routes as roadmap_routes
from valuestreams.api.views import (
    ArtViewSet,
    DependencyMapView,
    DependencyViewSet,
    SolutionTrainViewSet,
    StatusReportViewSet,
    TeamViewSet,
    TrainStatusReportViewSet,
    TrainViewSet,
    ValueStreamViewSet,
)

app_name = "api"

router = DefaultRouter()
# portfolio
router.register("portfolios", PortfolioViewSet, basename="portfolio")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("epics", EpicViewSet, basename="epic")
router.register("wip-limits", WipLimitViewSet, basename="wip-limit")
# valuestreams
router.register("value-streams", ValueStreamViewSet, basename="value-stream")
router.register("trains", TrainViewSet, basename="train")
router.register("solution-trains", SolutionTrainViewSet, basename="solution-train")
router.register("arts", ArtViewSet, basename="art")
router.register("teams", TeamViewSet, basename="team")
router.register(r"trains/(?P<train_id>[0-9]+)/status-reports", TrainStatusReportViewSet, basename="train-status-report")
router.register("status-reports", StatusReportViewSet, basename="status-report")
router.register("dependencies", DependencyViewSet, basename="dependency")
# cadence
cadence_routes.register(router)
# integration
integration_routes.register(router)
register_release_routes(router)
# roadmap
roadmap_routes.register(router)

urlpatterns = [
    path("v1/auth/token/", AuthTokenView.as_view(), name="token"),
    path("v1/dependency-map/", DependencyMapView.as_view(), name="dependency-map"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="schema"),
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
]
