"""The portfolio app's pages (filled in by the pages work)."""

urlpatterns = []
