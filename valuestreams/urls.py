"""The valuestreams app's pages.

Fixed paths under dependencies/ ("new/", "map/") come before "<int:pk>/"; an int
converter never matches them anyway, so neither is shadowed.
"""

from django.urls import path

from . import map_views, views

app_name = "valuestreams"
urlpatterns = [
    path("trains/", views.train_list, name="train-list"),
    path("trains/<int:train_id>/", views.train_detail, name="train-detail"),
    path("dependencies/", views.dependency_list, name="dependency-list"),
    path("dependencies/map/", map_views.dependency_map, name="dependency-map"),
    path("dependencies/new/", views.dependency_create, name="dependency-create"),
    path("dependencies/<int:dependency_id>/", views.dependency_detail, name="dependency-detail"),
    path("dependencies/<int:dependency_id>/edit/", views.dependency_edit, name="dependency-edit"),
    path("dependencies/<int:dependency_id>/act/", views.dependency_act, name="dependency-act"),
]
