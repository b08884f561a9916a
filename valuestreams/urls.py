"""The valuestreams app's pages."""

app_name = "valuestreams"
urlpatterns = []
