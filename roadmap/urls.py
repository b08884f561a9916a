"""The roadmap pages: /roadmap/ and its CSV export, the solution roadmaps under
/roadmap/trains/, and the edit pages of their capabilities, features and milestones."""

from django.urls import path

from . import views

app_name = "roadmap"
urlpatterns = [
    path("roadmap/", views.portfolio_roadmap, name="portfolio-roadmap"),
    path("roadmap/export.csv", views.portfolio_roadmap_csv, name="portfolio-roadmap-csv"),
    path("roadmap/trains/", views.roadmap_list, name="roadmap-list"),
    path("roadmap/trains/<int:train_id>/", views.solution_roadmap, name="solution-roadmap"),
    path("roadmap/trains/<int:train_id>/capabilities/new/", views.capability_create, name="capability-create"),
    path("roadmap/trains/<int:train_id>/milestones/new/", views.milestone_create, name="train-milestone-create"),
    path("roadmap/capabilities/<int:capability_id>/", views.capability_edit, name="capability-edit"),
    path("roadmap/features/<int:feature_id>/", views.feature_edit, name="feature-edit"),
    path("roadmap/milestones/new/", views.milestone_create, name="milestone-create"),
    path("roadmap/milestones/<int:milestone_id>/", views.milestone_edit, name="milestone-edit"),
    path("roadmap/milestones/<int:milestone_id>/delete/", views.milestone_delete, name="milestone-delete"),
]
