from django.apps import AppConfig


class RoadmapConfig(AppConfig):
    name = "roadmap"

    def ready(self):
        from . import permissions  # noqa: F401  (registers the app's rules)
