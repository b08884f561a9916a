"""API endpoints of the roadmaps: capabilities, features and milestones (every member
reads them; the train's STE or RTE, APMO and portfolio managers change them, through
the same services as the pages), and the derived portfolio roadmap.

Lists fetch their related rows up front: a page of 100 costs the same few queries as a
page of 1. Writes honour If-Match (412 with the current state when stale).
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from portfolio.api.mixins import reread
from portfolio.api.permissions import RulesPermission, denial_message
from portfolio.api.views import ModelViewSet, count_of
from portfolio.core.concurrency import StaleVersion
from portfolio.selectors import portfolios_visible_to
from valuestreams.models import Feature
from valuestreams.selectors import trains_visible_to

from .. import selectors, services
from ..forms import RoadmapFilterForm
from ..models import Milestone
from ..permissions import EDIT_PORTFOLIO_ROADMAP, EDIT_SOLUTION_ROADMAP
from .filters import CapabilityFilterSet, FeatureFilterSet, MilestoneFilterSet, capabilities_visible_to
from .serializers import CapabilitySerializer, FeatureSerializer, MilestoneSerializer, RoadmapSerializer

TRAIN_RELATED = ("train__value_stream__portfolio", "train__solution_train")


class _RoadmapViewSet(ModelViewSet):
    """Writes need ``roadmap.edit_solution_roadmap`` on the row (its train); deletes go
    through the service's ``delete`` with the If-Match version."""

    write_permission = EDIT_SOLUTION_ROADMAP
    write_parent = "train"

    def delete_row(self, instance, expected_version):
        raise NotImplementedError

    def perform_destroy(self, instance):
        try:
            self.delete_row(instance, self.expected_version())
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None


class CapabilityViewSet(_RoadmapViewSet):
    """Capabilities on the solution roadmaps of your portfolios, by key; filter them by
    train, value stream, epic, PI, commitment or state (``unplaced=true``: on no PI)."""

    serializer_class = CapabilitySerializer
    filterset_class = CapabilityFilterSet
    ordering_fields = ["key", "name", "program_increment__start_date", "created_at"]

    def get_queryset(self):
        return (
            capabilities_visible_to(self.request.user)
            .select_related(*TRAIN_RELATED, "epic", "program_increment")
            .annotate(feature_count=count_of(Feature.objects.all(), "capability"))
            .order_by("key", "pk")
        )

    def delete_row(self, capability, expected_version):
        services.capability_delete(actor=self.request.user, capability=capability, expected_version=expected_version)


class FeatureViewSet(_RoadmapViewSet):
    """Features on the roadmaps of your portfolios' ARTs, by key; filter them by train,
    value stream, epic (its own or its capability's), capability, PI, iteration,
    commitment or state (``unplaced=true``: on no PI)."""

    serializer_class = FeatureSerializer
    filterset_class = FeatureFilterSet
    ordering_fields = ["key", "name", "program_increment__start_date", "created_at"]

    def get_queryset(self):
        return (
            Feature.objects.filter(train__in=trains_visible_to(self.request.user).values("pk"))
            .select_related(*TRAIN_RELATED, "capability", "epic", "program_increment", "iteration")
            .order_by("key", "pk")
        )

    def delete_row(self, feature, expected_version):
        services.feature_delete(actor=self.request.user, feature=feature, expected_version=expected_version)


class MilestoneViewSet(_RoadmapViewSet):
    """Milestones of your portfolios, by date: on a train's solution roadmap, or on the
    portfolio roadmap (``portfolio_level=true``)."""

    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilterSet
    ordering_fields = ["date", "name", "kind"]

    def get_queryset(self):
        from portfolio.permissions import visible_portfolio_ids

        return (
            Milestone.objects.filter(portfolio_id__in=visible_portfolio_ids(self.request.user))
            .select_related("portfolio", *TRAIN_RELATED, "program_increment")
            .order_by("date", "name", "pk")
        )

    def check_create_permission(self, serializer):
        data = serializer.validated_data
        milestone = Milestone(portfolio=data["portfolio"], train=data.get("train"))
        perm = EDIT_SOLUTION_ROADMAP if milestone.train_id else EDIT_PORTFOLIO_ROADMAP
        if not self.request.user.has_perm(perm, milestone.train or milestone):
            self.permission_denied(self.request, message=denial_message(perm))

    def delete_row(self, milestone, expected_version):
        services.milestone_delete(actor=self.request.user, milestone=milestone, expected_version=expected_version)


def _id_parameter(name: str, description: str, *, many: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, location=OpenApiParameter.QUERY, description=description, many=many)


class RoadmapViewSet(viewsets.ViewSet):
    """The portfolio roadmap, derived live from the solution roadmaps."""

    permission_classes = [RulesPermission]
    read_permission = "portfolio.view_portfolio"

    @extend_schema(
        tags=["roadmap"],
        summary="The portfolio roadmap",
        description="PIs as columns and a lane per value stream, each with its epics: the span of the PIs "
        "their capabilities and features there occupy (committed, forecast or mixed), or their target PI "
        "where they are not split there yet; epics whose work starts after their target PI are flagged. "
        "Items are packed into rows that never overlap. By default the current PI and the next three; the "
        "same filters as /roadmap/ (invalid ones answer 400).",
        parameters=[
            _id_parameter("portfolio", "The portfolio (default: your first, by name). Not one of yours: 404."),
            _id_parameter("value_stream", "Only this value stream's lane."),
            _id_parameter("theme", "Only epics serving this strategic theme."),
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                location=OpenApiParameter.QUERY,
                description="Only epics in this Kanban state.",
                enum=[value for value, _ in RoadmapFilterForm.base_fields["state"].choices if value],
            ),
            _id_parameter("pi_from", "The first PI shown (a PI of the portfolio's cadence)."),
            _id_parameter("pi_to", "The last PI shown."),
            _id_parameter("expand", "Value streams whose capabilities are listed too.", many=True),
        ],
        responses=RoadmapSerializer,
    )
    def list(self, request):
        portfolio = self.portfolio(request.query_params.get("portfolio"))
        today = timezone.localdate()
        pis = selectors.program_increment_infos(portfolio)
        choices = selectors.roadmap_choices(portfolio, today=today, pis=pis)
        form = RoadmapFilterForm(request.query_params, choices=choices)
        if not form.is_valid():
            raise ValidationError(form.errors)
        roadmap = selectors.build_portfolio_roadmap(
            portfolio=portfolio, today=today, filters=form.filters(), choices=choices, pis=pis
        )
        return Response(RoadmapSerializer(roadmap, context={"columns": roadmap.columns}).data)

    def portfolio(self, chosen):
        portfolios = portfolios_visible_to(self.request.user).order_by("name")
        if chosen is None:
            portfolio = portfolios.first()
        else:
            portfolio = portfolios.filter(pk=chosen).first() if chosen.isdigit() else None
        if portfolio is None:
            raise NotFound("No such portfolio among yours.")
        return portfolio
