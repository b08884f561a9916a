"""Root URLs: each app's pages, the API under /api/v1/, its schema and docs, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("portfolio.api.urls")),
    path("", include("portfolio.urls_pages")),
    path("", include("valuestreams.urls")),
    path("", include("cadence.urls")),
    path("", include("integration.urls")),
    path("", include("roadmap.urls")),
]
