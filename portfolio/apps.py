from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"

    def ready(self):
        from . import permissions  # noqa: F401  (registers the app's rules)
