"""API routes: /api/v1/ (each app registers its viewsets), /api/schema/, /api/docs/."""

urlpatterns = []
