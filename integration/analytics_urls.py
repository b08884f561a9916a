"""Pages of integration analytics and releases, included by ``integration.urls``.
Fixed paths ("new/") come before "<int:release_id>/"."""

from django.urls import path

from . import analytics_views as views

urlpatterns = [
    path("integration/idle/", views.idle_work, name="idle-work"),
    path("integration/velocity/", views.velocity, name="velocity"),
    path("integration/economics/", views.economics_index, name="economics-index"),
    path("integration/economics/<int:value_stream_id>/", views.economics, name="economics"),
    path("integration/releases/", views.release_list, name="release-list"),
    path("integration/releases/new/", views.release_create, name="release-create"),
    path("integration/releases/<int:release_id>/", views.release_detail, name="release-detail"),
    path("integration/releases/<int:release_id>/edit/", views.release_edit, name="release-edit"),
    path("integration/releases/<int:release_id>/delete/", views.release_delete, name="release-delete"),
]
