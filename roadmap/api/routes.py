"""The roadmap API's routes, registered on the project's /api/v1/ router."""

from .views import CapabilityViewSet, FeatureViewSet, MilestoneViewSet, RoadmapViewSet


def register(router) -> None:
    router.register("capabilities", CapabilityViewSet, basename="capability")
    router.register("features", FeatureViewSet, basename="feature")
    router.register("milestones", MilestoneViewSet, basename="milestone")
    router.register("roadmap", RoadmapViewSet, basename="roadmap")
