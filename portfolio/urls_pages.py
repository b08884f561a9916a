"""The portfolio app's pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("portfolio/switch/", views.switch_portfolio, name="switch-portfolio"),
    path("epics/", views.epic_kanban, name="epic-kanban"),
    path("epics/intake/", views.intake_preview, name="intake-preview"),
    path("epics/wip-limits/", views.epic_wip_limits, name="epic-wip-limits"),
    path("epics/<int:epic_id>/move/", views.epic_move, name="epic-move"),
    path("epics/<slug:state>/", views.epic_column, name="epic-column"),
]
