"""The integration app's pages. Fixed paths ("new/", "propose/") come before
"<int:point_id>/"; an int converter never matches them anyway."""

from django.urls import include, path

from . import views

app_name = "integration"
urlpatterns = [
    path("integration/", views.integration_point_list, name="integration-point-list"),
    path("integration/new/", views.integration_point_create, name="integration-point-create"),
    path("integration/propose/", views.integration_points_propose, name="integration-points-propose"),
    path("integration/<int:point_id>/", views.integration_point_detail, name="integration-point-detail"),
    path("integration/<int:point_id>/edit/", views.integration_point_edit, name="integration-point-edit"),
    path("integration/<int:point_id>/results/", views.integration_result_record, name="integration-result-record"),
    path(
        "integration/<int:point_id>/criteria/<int:criterion_id>/",
        views.criterion_tick,
        name="integration-criterion-tick",
    ),
    path("", include("integration.analytics_urls")),
]
