"""The valuestreams app's pages."""

from django.urls import path

from . import map_views, views

app_name = "valuestreams"
urlpatterns = [
    path("trains/", views.train_list, name="train-list"),
    path("trains/<int:train_id>/", views.train_detail, name="train-detail"),
    path("dependencies/map/", map_views.dependency_map, name="dependency-map"),
]
