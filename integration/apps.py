from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"

    def ready(self):
        from . import permissions  # noqa: F401  (registers the rules)
