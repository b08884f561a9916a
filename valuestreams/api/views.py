"""API endpoints of value streams, trains and teams, train status reports, dependencies
(with their workflow actions and a slip's impact) and the dependency map.

Every member of a portfolio reads them. Value streams, trains and teams are set up by
its APMO (``valuestreams.manage_trains``); status reports and dependencies are written
through the services, which decide who may (the permission table in DESIGN.md) and
refuse a write made against a stale state. Lists fetch their related rows up front: a
page of 100 costs the same few queries as a page of 1.
"""

from django.db.models import Prefetch
from django.utils import timezone
from django_filters import BooleanFilter, CharFilter, ChoiceFilter, ModelChoiceFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.api.mixins import VersionedMixin, parse_if_match, reread
from portfolio.api.permissions import RulesPermission
from portfolio.api.schema import ETAG, IF_MATCH
from portfolio.api.views import ModelViewSet, count_of
from portfolio.core.concurrency import StaleVersion
from portfolio.selectors import portfolios_visible_to

from ..dependency_map import build_dependency_map, slip_impact
from ..filters import (
    DependencyFilterSet,
    StatusReportFilterSet,
    TeamFilterSet,
    TrainFilterSet,
    ValueStreamFilterSet,
)
from ..models import DependencyEvent, Team, Train, TrainKind
from ..selectors import (
    dependencies_visible_to,
    status_reports_visible_to,
    teams_visible_to,
    trains_visible_to,
    value_streams_visible_to,
    with_latest_status_summary,
)
from ..services import (
    ACTIONS,
    StatusConflict,
    dependency_raise,
    dependency_transition,
    dependency_update,
    status_report_post,
)
from .serializers import (
    DependencyDetailSerializer,
    DependencyMapSerializer,
    DependencySerializer,
    DependencyTransitionSerializer,
    SlipImpactSerializer,
    StatusReportSerializer,
    TeamSerializer,
    TrainSerializer,
    ValueStreamSerializer,
)

VIEW = "portfolio.view_portfolio"


class ValueStreamViewSet(ModelViewSet):
    """Value streams of the portfolios you are a member of."""

    serializer_class = ValueStreamSerializer
    filterset_class = ValueStreamFilterSet
    write_permission = "valuestreams.manage_trains"
    write_parent = "portfolio"
    ordering_fields = ["name", "key", "created_at"]

    def get_queryset(self):
        return (
            value_streams_visible_to(self.request.user)
            .select_related("portfolio")
            .annotate(train_count=count_of(Train.objects.all(), "value_stream"))
        )


class TrainViewSet(ModelViewSet):
    """Trains of the portfolios you are a member of: ARTs and solution trains."""

    serializer_class = TrainSerializer
    filterset_class = TrainFilterSet
    write_permission = "valuestreams.manage_trains"
    write_parent = "value_stream"
    ordering_fields = ["name", "key", "kind", "value_stream__name", "created_at"]
    # Set by the endpoints that hold one kind of train only.
    fixed_kind: str | None = None

    def get_queryset(self):
        trains = with_latest_status_summary(
            trains_visible_to(self.request.user)
            .select_related("value_stream", "solution_train", "engineer")
            .annotate(team_count=count_of(Team.objects.all(), "train"))
        )
        return trains.filter(kind=self.fixed_kind) if self.fixed_kind else trains

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "fixed_kind": self.fixed_kind}


class SolutionTrainViewSet(TrainViewSet):
    """Solution trains: each groups the ARTs of a large solution; its engineer is the STE."""

    fixed_kind = TrainKind.SOLUTION


class ArtViewSet(TrainViewSet):
    """Agile Release Trains; an ART's engineer is its RTE."""

    fixed_kind = TrainKind.ART


class TeamViewSet(ModelViewSet):
    """Teams of the portfolios you are a member of: agile teams on their home train,
    system teams and shared services (which may serve several trains)."""

    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    write_permission = "valuestreams.manage_trains"
    write_parent = "portfolio"
    ordering_fields = ["name", "kind", "created_at"]

    def get_queryset(self):
        return (
            teams_visible_to(self.request.user)
            .select_related("portfolio", "train")
            .prefetch_related(Prefetch("serves", queryset=Train.objects.order_by("name")))
        )


# --- Train status reports -----------------------------------------------------------

STATUS_CONFLICT = inline_serializer(
    name="StatusReportConflict",
    fields={
        "detail": serializers.CharField(),
        "current": StatusReportSerializer(read_only=True, allow_null=True),
    },
)


TRAIN_ID = OpenApiParameter("train_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The train's id.")


@extend_schema(tags=["status-reports"], parameters=[TRAIN_ID])
@extend_schema_view(
    list=extend_schema(
        summary="A train's status history",
        description="The train's status reports, newest first. The first one is its current status: "
        "send its id as `based_on` when you post the next.",
    ),
    create=extend_schema(
        summary="Post a train's status",
        description="Adds a new report to the train's history (reports are never edited). Open to the "
        "train's RTE (ART) or STE (solution train, and its ARTs) and to APMO; an automation token posts "
        "as its user.\n\n"
        "Concurrency: `based_on` must be the id of the train's latest report when you wrote yours "
        "(null for its first). If someone posted a newer report since, the answer is 409 with that report "
        "in `current`, and nothing is written: read it, then post again based on it.",
        responses={201: StatusReportSerializer, 409: STATUS_CONFLICT},
    ),
)
class TrainStatusReportViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The status history of one train (/trains/{train_id}/status-reports/)."""

    serializer_class = StatusReportSerializer
    permission_classes = [RulesPermission]
    permission_map = {"GET": VIEW, "HEAD": VIEW, "OPTIONS": VIEW, "POST": "valuestreams.post_status_report"}
    filter_backends = []  # one train's history; /status-reports/ filters across trains

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A train of another portfolio is 404; posting to a train that is not yours, 403.
        self.train = get_object_or_404(trains_visible_to(request.user), pk=kwargs["train_id"])
        self.check_object_permissions(request, self.train)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return status_reports_visible_to(self.request.user).none()
        return self.train.status_reports.select_related("train", "author")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "train": getattr(self, "train", None)}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            report = status_report_post(
                actor=request.user, train=self.train, based_on_id=data.pop("based_on_id"), **data
            )
        except StatusConflict as conflict:
            current = self.get_serializer(conflict.current).data if conflict.current else None
            return Response(
                {"detail": f"{conflict} Read it, then post again based on it.", "current": current},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["status-reports"])
class StatusReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Status reports of every train you can see, newest first: filter by train, value
    stream, portfolio, health or date; ``latest=true`` gives each train's current status."""

    serializer_class = StatusReportSerializer
    filterset_class = StatusReportFilterSet
    permission_classes = [RulesPermission]
    read_permission = VIEW
    ordering_fields = ["created_at", "health", "pi_confidence"]

    def get_queryset(self):
        return status_reports_visible_to(self.request.user).select_related("train", "author")


# --- Dependencies -----------------------------------------------------------------

TRANSITIONS = [name.replace("_", "-") for name in ACTIONS]
TRANSITION = OpenApiParameter(
    "transition",
    str,
    OpenApiParameter.PATH,
    enum=TRANSITIONS,
    description="The workflow step. Provider's: accept, decline (reason), commit (committed_pi), deliver, "
    "flag (flag and reason), clear-flag; consumer's: reopen (a declined one), cancel (reason). APMO and "
    "enterprise architects may take any.",
)


class DependencyViewSet(
    VersionedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Dependencies between trains of the portfolios you are a member of.

    The consumer's RTE or STE (or APMO, or an enterprise architect) raises and edits
    one; its workflow moves only through the actions. A dependency is never deleted:
    cancel it, and its history stays.
    """

    filterset_class = DependencyFilterSet
    permission_classes = [RulesPermission]
    read_permission = VIEW
    write_permission = "valuestreams.change_dependency"
    ordering_fields = ["key", "needed_by_date", "state", "created_at", "updated_at"]
    etag_actions = ("retrieve", "create", "update", "partial_update", "transition")

    def get_queryset(self):
        dependencies = (
            dependencies_visible_to(self.request.user)
            .with_dates()
            .select_related(
                "consumer__value_stream",
                "provider__value_stream",
                "needed_by_pi",
                "needed_by_iteration",
                "committed_pi",
                "committed_iteration",
                "consumer_feature",
                "provider_feature",
                "epic",
                "raised_by",
            )
        )
        if self.action in ("list", "impact"):
            return dependencies
        # One dependency: its events, and what the permission rules read for its actions.
        return dependencies.select_related("consumer__solution_train", "provider__solution_train").prefetch_related(
            Prefetch("events", queryset=DependencyEvent.objects.select_related("actor"))
        )

    def paginate_queryset(self, queryset):
        # Page through the ids (a narrow sort), then load that page's rows with their joins:
        # on a large portfolio, planning and sorting every joined row cost several times more.
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True))
        if ids is None:
            return None
        rows = queryset.in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]

    def get_serializer_class(self):
        return DependencySerializer if self.action == "list" else DependencyDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def perform_create(self, serializer):
        dependency = dependency_raise(actor=self.request.user, **serializer.validated_data)
        serializer.instance = reread(self, dependency)

    def perform_update(self, serializer):
        try:
            dependency = dependency_update(
                actor=self.request.user,
                dependency=serializer.instance,
                expected_version=self.expected_version(),
                **serializer.validated_data,
            )
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None
        serializer.instance = reread(self, dependency)

    @extend_schema(
        summary="Take a workflow step",
        operation_id="v1_dependencies_transition",
        parameters=[TRANSITION, IF_MATCH, ETAG],
        request=DependencyTransitionSerializer,
        responses={
            200: DependencyDetailSerializer,
            400: OpenApiResponse(description="Not allowed now (the error names `action`), or bad input."),
            403: OpenApiResponse(description="Not your train's to act on."),
            412: OpenApiResponse(description="Changed since the version you sent (If-Match or `version`)."),
        },
        description="Moves the dependency one step and records who, when, from which state to which, and why. "
        "A step not allowed from the current state answers 400 naming `action`; one not allowed for you, 403. "
        "Send the version you acted on as `If-Match` or `version` to be refused (412) if it changed meanwhile.",
    )
    @action(detail=True, methods=["post"], url_path=r"(?P<transition>[a-z_-]+)", url_name="transition")
    def transition(self, request, pk=None, transition=None):
        dependency = get_object_or_404(self.get_queryset(), pk=pk)  # visibility only: the service decides
        serializer = DependencyTransitionSerializer(
            data=request.data, context={**self.get_serializer_context(), "dependency": dependency}
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        expected = parse_if_match(request.headers.get("If-Match"))
        version = data.pop("version", None)
        if expected is None:
            expected = version
        elif version is not None and version != expected:
            raise ValidationError({"version": f"It says {version} where If-Match says {expected}: send one."})
        try:
            dependency_transition(
                actor=request.user,
                dependency=dependency,
                action=transition.replace("-", "_"),
                expected_version=expected,
                **data,
            )
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None
        return Response(self.get_serializer(reread(self, dependency)).data)

    @extend_schema(summary="What slips if this slips", responses=SlipImpactSerializer)
    @action(detail=True, methods=["get"])
    def impact(self, request, pk=None):
        """Downstream of this dependency: the consumer's feature that needs it, the open
        dependencies that feature delivers (and so on), their features' epics and trains."""
        return Response(SlipImpactSerializer(slip_impact(self.get_object()), context={"request": request}).data)


# --- The dependency map -------------------------------------------------------------

MODES = ("trains", "value_streams")


def filter_parameters(filterset_class, *, exclude=()) -> list[OpenApiParameter]:
    """The query parameters of a filter set, for a view the schema does not see as a list."""
    parameters = []
    for name, filter_ in filterset_class.base_filters.items():
        if name in exclude:
            continue
        kwargs = {"description": str(filter_.label or name)}
        if isinstance(filter_, BooleanFilter):
            kwargs["type"] = OpenApiTypes.BOOL
        elif isinstance(filter_, ModelChoiceFilter):
            kwargs["type"] = OpenApiTypes.INT
        elif isinstance(filter_, ChoiceFilter):
            kwargs.update(type=OpenApiTypes.STR, enum=[value for value, _ in filter_.extra["choices"]])
        elif isinstance(filter_, CharFilter):
            kwargs["type"] = OpenApiTypes.STR
        else:
            raise TypeError(f"Describe the {type(filter_).__name__} {name} in filter_parameters.")
        parameters.append(OpenApiParameter(name, location=OpenApiParameter.QUERY, **kwargs))
    return parameters


class DependencyMapView(APIView):
    """The dependency map of a portfolio as JSON: the graph the map page draws."""

    permission_classes = [RulesPermission]
    read_permission = VIEW

    @extend_schema(
        tags=["dependency-map"],
        summary="The dependency map",
        description="Trains (or value streams) as nodes with their layout, one edge per provider→consumer "
        "pair with the number of dependencies and the worst colour, loops among trains as strongly "
        "connected components with one example each. Built from the portfolio's dependencies you can see, "
        "filtered by the same parameters as /dependencies/.",
        parameters=[
            OpenApiParameter(
                "portfolio",
                OpenApiTypes.INT,
                description="The portfolio (default: your first, by name). Not one of yours: 404.",
            ),
            OpenApiParameter(
                "mode",
                OpenApiTypes.STR,
                enum=MODES,
                description="trains (default) or value_streams (edges aggregated between value streams).",
            ),
            *filter_parameters(DependencyFilterSet, exclude={"portfolio"}),
        ],
        responses=DependencyMapSerializer,
    )
    def get(self, request):
        portfolio = self.portfolio(request.query_params.get("portfolio"))
        mode = request.query_params.get("mode") or MODES[0]
        if mode not in MODES:
            raise ValidationError({"mode": [f"Choose trains or value_streams (got {mode})."]})
        filters = DependencyFilterSet(
            request.query_params, queryset=dependencies_visible_to(request.user), request=request, portfolio=portfolio
        )
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        value_stream = filters.form.cleaned_data.get("value_stream")
        graph = build_dependency_map(
            filters.qs,
            portfolio=portfolio,
            today=filters.today,
            mode=mode,
            value_stream_ids={value_stream.pk} if value_stream else None,
        )
        return Response(DependencyMapSerializer(graph, context={"portfolio": portfolio}).data)

    def portfolio(self, chosen):
        portfolios = portfolios_visible_to(self.request.user).order_by("name")
        if chosen is None:
            portfolio = portfolios.first()
        else:
            portfolio = portfolios.filter(pk=chosen).first() if chosen.isdigit() else None
        if portfolio is None:
            raise NotFound("No such portfolio among yours.")
        return portfolio
