"""API endpoints of integration points, their check runs (read only) and their results.

Every member of a portfolio reads them (others get 404). Points are created and
changed by APMO or the STE of their solution train (``integration.manage_point``);
results are recorded by APMO or an STE involved (``integration.record_result``), an
automation token acting as its service user. Lists fetch their related rows up
front: a page of 100 costs the same few queries as a page of 1.
"""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from portfolio.api.mixins import VersionedMixin, reread
from portfolio.api.permissions import RulesPermission
from portfolio.core.concurrency import StaleVersion
from valuestreams.models import Train

from .. import selectors, services
from ..models import AcceptanceCriterion
from .filters import IntegrationPointFilterSet
from .serializers import (
    IdempotencyConflictSerializer,
    IntegrationCheckRunSerializer,
    IntegrationPointSerializer,
    IntegrationResultSerializer,
)

VIEW = "portfolio.view_portfolio"


def _criteria(validated) -> list[services.CriterionInput] | None:
    items = validated.pop("criteria", None)
    if items is None:
        return None
    return [services.CriterionInput(text=item["text"], met=item.get("met")) for item in items]


class IntegrationPointViewSet(
    VersionedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Integration points of the portfolios you are a member of, by date.

    APMO creates and changes any; the STE of a solution train those of their solution
    train. ``outcome`` is the checks' and the results' to set."""

    serializer_class = IntegrationPointSerializer
    filterset_class = IntegrationPointFilterSet
    permission_classes = [RulesPermission]
    read_permission = VIEW
    write_permission = "integration.manage_point"
    ordering_fields = ["date", "name", "outcome", "last_checked_at", "created_at"]

    def get_queryset(self):
        return (
            selectors.integration_point_list(user=self.request.user)
            .select_related("portfolio", "program_increment", "solution_train")
            .prefetch_related(None)  # the links are read page by page: selectors.complete_api_rows
            .prefetch_related(
                Prefetch(
                    "criteria",
                    queryset=AcceptanceCriterion.objects.only(
                        "pk", "integration_point", "text", "met", "position"
                    ).order_by("position", "pk"),
                )
            )
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return selectors.complete_api_rows(page) if page is not None else None

    def get_object(self):
        return selectors.complete_api_rows([super().get_object()])[0]

    def _reread(self, point):
        return selectors.complete_api_rows([reread(self, point)])[0]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        criteria = _criteria(data) or []
        point = services.integration_point_create(actor=self.request.user, criteria=criteria, **data)
        serializer.instance = self._reread(point)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        criteria = _criteria(data)
        data.pop("portfolio", None)
        try:
            point = services.integration_point_update(
                actor=self.request.user,
                point=serializer.instance,
                expected_version=self.expected_version(),
                criteria=criteria,
                **data,
            )
        except StaleVersion as stale:
            raise StaleVersion(self._reread(stale.current)) from None
        serializer.instance = self._reread(point)


POINT_ID = OpenApiParameter("point_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The point's id.")


class _PointScopedMixin:
    """For /integration-points/{point_id}/...: the point is one you can see (404
    otherwise), and the request's method maps to a permission on it (403 otherwise)."""

    permission_classes = [RulesPermission]
    filter_backends = []  # one point's rows, newest first

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        points = selectors.integration_points_visible_to(request.user).select_related("solution_train")
        points = points.prefetch_related(Prefetch("trains", queryset=Train.objects.select_related("solution_train")))
        self.point = get_object_or_404(points, pk=kwargs["point_id"])
        self.check_object_permissions(request, self.point)


@extend_schema(tags=["integration-points"], parameters=[POINT_ID])
@extend_schema_view(
    list=extend_schema(summary="A point's check runs", description="Newest first: one per check window."),
    retrieve=extend_schema(summary="One check run, with its findings"),
)
class IntegrationCheckRunViewSet(_PointScopedMixin, viewsets.ReadOnlyModelViewSet):
    """The scheduled checks of one integration point (read only)."""

    serializer_class = IntegrationCheckRunSerializer
    permission_map = {"GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.check_runs_visible_to(self.request.user).none()
        return self.point.check_runs.order_by("-window_start")


RECORD_DESCRIPTION = (
    "Record a pass or fail; the point's outcome becomes passed or failed at once and its participants are "
    "emailed. Open to APMO and to the STE of a solution train taking part; an automation token records as its "
    "service user (so that user needs one of those roles).\n\n"
    "Idempotency: send a key unique to this result as the `Idempotency-Key` header or the `idempotency_key` "
    "field. A retry with the same key and the same body answers 200 with the first result (header "
    "`Idempotent-Replayed: true`) and records nothing; the same key with a different body answers 409 with the "
    "first result in `original`."
)


@extend_schema(tags=["integration-points"], parameters=[POINT_ID])
@extend_schema_view(
    list=extend_schema(summary="A point's results", description="Newest first."),
    retrieve=extend_schema(summary="One result"),
    create=extend_schema(
        summary="Record a result",
        description=RECORD_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="A key unique to this result; the same as `idempotency_key`.",
            )
        ],
        responses={
            201: IntegrationResultSerializer,
            200: OpenApiResponse(IntegrationResultSerializer, description="A retry: the first result, unchanged."),
            403: OpenApiResponse(description="You may not record this point's results."),
            409: OpenApiResponse(IdempotencyConflictSerializer, description="The key was used for another result."),
        },
    ),
)
class IntegrationResultViewSet(
    _PointScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Results of one integration point, recorded by people or pipelines."""

    serializer_class = IntegrationResultSerializer
    permission_map = {"GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW, "POST": "integration.record_result"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return selectors.results_visible_to(self.request.user).none()
        return self.point.results.select_related("recorded_by").order_by("-recorded_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        header = request.headers.get("Idempotency-Key", "").strip()
        field = data.get("idempotency_key", "").strip()
        if header and field and header != field:
            raise ValidationError(
                {"idempotency_key": [f"It says “{field}” where the Idempotency-Key header says “{header}”: send one."]}
            )
        key = header or field
        if len(key) > 120:
            raise ValidationError({"idempotency_key": ["Use a key of at most 120 characters."]})
        try:
            recorded = services.integration_result_record(
                actor=request.user,
                point=self.point,
                verdict=data["verdict"],
                notes=data.get("notes", ""),
                source_url=data.get("source_url", ""),
                idempotency_key=key,
            )
        except services.IdempotencyConflict as conflict:
            original = self.get_serializer(conflict.original).data
            return Response({"detail": str(conflict), "original": original}, status=status.HTTP_409_CONFLICT)
        body = self.get_serializer(recorded.result).data
        if recorded.created:
            return Response(body, status=status.HTTP_201_CREATED)
        return Response(body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
