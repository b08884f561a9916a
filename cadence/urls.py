"""The cadence app's pages and calendar feeds."""

from django.urls import path

from . import views

app_name = "cadence"
urlpatterns = [
    path("cadence/", views.calendar, name="calendar"),
    path("cadence/<int:cadence_id>/edit/", views.cadence_edit, name="cadence-edit"),
    path("cadence/<int:cadence_id>/generate/", views.cadence_generate, name="cadence-generate"),
    path("cadence/pi/<int:pi_id>/", views.program_increment_detail, name="pi-detail"),
    path("cadence/pi/<int:pi_id>/edit/", views.program_increment_edit, name="pi-edit"),
    path("cadence/iterations/<int:iteration_id>/edit/", views.iteration_edit, name="iteration-edit"),
    path("cadence/events/<int:event_id>/edit/", views.event_edit, name="event-edit"),
    path("cadence/feed/reset/", views.feed_token_reset, name="feed-token-reset"),
    path("cadence/feed/<str:token>/portfolio/<int:portfolio_id>.ics", views.portfolio_feed, name="feed-portfolio"),
    path("cadence/feed/<str:token>/train/<int:train_id>.ics", views.train_feed, name="feed-train"),
]
