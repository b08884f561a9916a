"""The cadence API's routes, registered on the project's /api/v1/ router."""

from .views import CadenceEventViewSet, CadenceViewSet, IterationViewSet, ProgramIncrementViewSet


def register(router) -> None:
    router.register("cadences", CadenceViewSet, basename="cadence")
    router.register("program-increments", ProgramIncrementViewSet, basename="program-increment")
    router.register("iterations", IterationViewSet, basename="iteration")
    router.register("cadence-events", CadenceEventViewSet, basename="cadence-event")
