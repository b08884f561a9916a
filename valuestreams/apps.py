from django.apps import AppConfig


class ValuestreamsConfig(AppConfig):
    name = "valuestreams"

    def ready(self):
        from . import permissions  # noqa: F401  (registers the app's rules)
