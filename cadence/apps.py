from django.apps import AppConfig


class CadenceConfig(AppConfig):
    name = "cadence"

    def ready(self):
        from . import permissions  # noqa: F401  (registers the app's rules)
