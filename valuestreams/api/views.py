"""API endpoints of value streams, trains and teams.

Every member of a portfolio reads them; only its APMO sets them up
(``valuestreams.manage_trains``). Lists fetch their related rows up front: a page of
100 costs the same few queries as a page of 1.
"""

from django.db.models import Prefetch

from portfolio.api.views import ModelViewSet, count_of

from ..filters import TeamFilterSet, TrainFilterSet, ValueStreamFilterSet
from ..models import Team, Train, TrainKind
from ..selectors import teams_visible_to, trains_visible_to, value_streams_visible_to
from .serializers import TeamSerializer, TrainSerializer, ValueStreamSerializer


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
        trains = (
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
