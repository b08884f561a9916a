"""The portfolio app's pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("portfolio/switch/", views.switch_portfolio, name="switch-portfolio"),
]
