"""API endpoints of cadences, PIs, iterations and cadence events.

Members of a portfolio read the cadences it, its value streams and its trains follow
(others answer 404); the APMO of such a portfolio changes them, through the same
services as the pages (``cadence.change_cadence``, 403 otherwise). Lists choose their
joins up front: a page of 100 costs the same few queries as a page of 1.
"""

from django.db.models import Count, Max, OuterRef, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from portfolio.api.views import ReadUpdateViewSet
from portfolio.permissions import visible_portfolio_ids

from .. import services
from ..models import ProgramIncrement
from ..selectors import cadence_events_used_by, cadences_used_by, iterations_used_by, program_increments_used_by
from .filters import CadenceEventFilterSet, CadenceFilterSet, IterationFilterSet, ProgramIncrementFilterSet
from .serializers import (
    CadenceEventSerializer,
    CadenceSerializer,
    GenerateSerializer,
    IterationSerializer,
    ProgramIncrementSerializer,
)


class _CadenceViewSet(ReadUpdateViewSet):
    read_permission = "cadence.view_cadence"
    write_permission = "cadence.change_cadence"

    def portfolio_ids(self) -> list[int]:
        return visible_portfolio_ids(self.request.user)


class CadenceViewSet(_CadenceViewSet):
    """The cadences your portfolios follow (directly, or through a value stream or a
    train). ``POST .../generate/`` extends one by PIs with their iterations and events."""

    serializer_class = CadenceSerializer
    filterset_class = CadenceFilterSet
    ordering_fields = ["name", "start_date"]

    def get_queryset(self):
        pis = ProgramIncrement.objects.filter(cadence=OuterRef("pk")).order_by().values("cadence")
        return cadences_used_by(self.portfolio_ids()).annotate(
            program_increment_count=Subquery(pis.annotate(n=Count("pk")).values("n")),
            last_pi_end=Subquery(pis.annotate(last=Max("end_date")).values("last")),
        )

    @extend_schema(request=GenerateSerializer, responses={201: ProgramIncrementSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def generate(self, request, pk=None):
        """Add PIs after the cadence's last one, each with its iterations and events
        (PI planning, system demos, a solution demo, inspect & adapt, portfolio syncs)."""
        cadence = self.get_object()
        arguments = GenerateSerializer(data=request.data)
        arguments.is_valid(raise_exception=True)
        created = services.program_increments_generate(
            actor=request.user,
            cadence=cadence,
            count=arguments.validated_data["count"],
            after_number=arguments.validated_data.get("after_number"),
        )
        rows = ProgramIncrement.objects.filter(pk__in=[pi.pk for pi in created]).select_related("cadence")
        data = ProgramIncrementSerializer(rows.order_by("start_date"), many=True, context=self.get_serializer_context())
        return Response(data.data, status=status.HTTP_201_CREATED)


class ProgramIncrementViewSet(_CadenceViewSet):
    """PIs of the cadences your portfolios follow; ``?current=true`` for today's."""

    serializer_class = ProgramIncrementSerializer
    filterset_class = ProgramIncrementFilterSet
    ordering_fields = ["start_date", "number", "name"]

    def get_queryset(self):
        return program_increments_used_by(self.portfolio_ids()).select_related("cadence")


class IterationViewSet(_CadenceViewSet):
    """Iterations of the PIs of the cadences your portfolios follow."""

    serializer_class = IterationSerializer
    filterset_class = IterationFilterSet
    ordering_fields = ["start_date", "number"]

    def get_queryset(self):
        return (
            iterations_used_by(self.portfolio_ids())
            .select_related("program_increment")
            .order_by("program_increment__start_date", "number")
        )


class CadenceEventViewSet(_CadenceViewSet):
    """Events (PI planning, demos, inspect & adapt, portfolio syncs) of the cadences
    your portfolios follow."""

    serializer_class = CadenceEventSerializer
    filterset_class = CadenceEventFilterSet
    ordering_fields = ["start_date", "kind", "name"]

    def get_queryset(self):
        return cadence_events_used_by(self.portfolio_ids()).select_related("program_increment", "iteration")
