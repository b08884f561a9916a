"""Serializers of the roadmap API: capabilities, features and milestones (one per model,
each with a brief form), and the derived portfolio roadmap.

Writes go through ``roadmap.services``, which check who may edit the train's roadmap
and the rules that span rows (a PI of the train's cadence, committed only for a PI
that has started, an epic of the same portfolio, ...): a refusal answers 403 or 400
naming the field, a stale If-Match 412.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from integration.models import Release
from portfolio.api.serializers import BriefRelatedField, ModelSerializer, PortfolioSerializer, VisibleRelatedField
from portfolio.permissions import visible_portfolio_ids
from portfolio.selectors import epics_visible_to, portfolios_visible_to
from valuestreams.api.serializers import (
    EpicRefSerializer,
    IterationRefSerializer,
    ProgramIncrementRefSerializer,
    TrainSerializer,
)
from valuestreams.models import Capability, Feature
from valuestreams.selectors import iterations_visible_to, program_increments_visible_to, trains_visible_to

from .. import services
from ..models import Milestone
from .filters import capabilities_visible_to


def releases_visible_to(user):
    return Release.objects.filter(portfolio_id__in=visible_portfolio_ids(user))


def _epic_field():
    return BriefRelatedField(
        brief=EpicRefSerializer,
        visible_to=epics_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of the epic (of the train's portfolio) it is part of.",
    )


def _pi_field(help_text: str):
    return BriefRelatedField(
        brief=ProgramIncrementRefSerializer,
        visible_to=program_increments_visible_to,
        required=False,
        allow_null=True,
        help_text=help_text,
    )


class _ServiceSerializer(ModelSerializer):
    """Creates and updates call the roadmap's services with the request's user."""

    def actor(self):
        return self.context["request"].user

    def expected_version(self):
        return self.context.get("expected_version")


class CapabilitySerializer(_ServiceSerializer):
    """Solution-level work of an epic, carried by a solution train (or by an ART outside
    any solution train) and placed on a PI of the cadence it follows: committed for the
    current PI, forecast for later ones. The train's STE (or RTE), APMO and portfolio
    managers change it."""

    train = BriefRelatedField(
        brief=TrainSerializer,
        visible_to=trains_visible_to,
        help_text="Id of the solution train (or ART outside any solution train) that carries it.",
    )
    value_stream = serializers.IntegerField(source="train.value_stream_id", read_only=True)
    epic = _epic_field()
    program_increment = _pi_field("Id of a PI of the cadence the train follows; null: not placed yet.")
    feature_count = serializers.IntegerField(read_only=True, help_text="Its features.")

    class Meta:
        model = Capability
        fields = (
            "id",
            "key",
            "name",
            "train",
            "value_stream",
            "epic",
            "program_increment",
            "commitment",
            "state",
            "feature_count",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("train",)
        brief_fields = ("id", "key", "name", "commitment")
        validators = []  # the key's uniqueness on the train is the service's, reported on the field

    def create(self, validated_data):
        return services.capability_create(actor=self.actor(), **validated_data)

    def update(self, instance, validated_data):
        return services.capability_update(
            actor=self.actor(), capability=instance, expected_version=self.expected_version(), **validated_data
        )


class FeatureSerializer(_ServiceSerializer):
    """ART-level work that fits in a PI: part of a capability of its solution train (or of
    its own roadmap), or directly of an epic. Placed on a PI and, once planned, an
    iteration of it. The ART's RTE, its solution train's STE, APMO and portfolio
    managers change it."""

    train = BriefRelatedField(brief=TrainSerializer, visible_to=trains_visible_to, help_text="Id of the ART.")
    value_stream = serializers.IntegerField(source="train.value_stream_id", read_only=True)
    capability = BriefRelatedField(
        brief="roadmap.api.serializers.CapabilitySerializer",
        queryset=Capability.objects.all(),
        visible_to=capabilities_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of a capability of the ART's solution train (or of the ART itself, outside any).",
    )
    epic = _epic_field()
    program_increment = _pi_field(
        "Id of a PI of the cadence the ART follows; null: not placed yet. Given an iteration only, its PI."
    )
    iteration = BriefRelatedField(
        brief=IterationRefSerializer,
        visible_to=iterations_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of an iteration of the feature's PI.",
    )

    class Meta:
        model = Feature
        fields = (
            "id",
            "key",
            "name",
            "train",
            "value_stream",
            "capability",
            "epic",
            "program_increment",
            "iteration",
            "commitment",
            "state",
            "done_on",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("train",)
        brief_fields = ("id", "key", "name", "commitment")
        validators = []

    def create(self, validated_data):
        return services.feature_create(actor=self.actor(), **validated_data)

    def update(self, instance, validated_data):
        return services.feature_update(
            actor=self.actor(), feature=instance, expected_version=self.expected_version(), **validated_data
        )


class MilestoneSerializer(_ServiceSerializer):
    """A marker on a roadmap: a fixed date, a PI event, a learning milestone or a release.
    With a train it is on that train's solution roadmap (edited by its STE or RTE,
    APMO and portfolio managers); without, on the portfolio roadmap (APMO and
    portfolio managers). Without a PI it sits in the PI its date falls in."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    train = BriefRelatedField(
        brief=TrainSerializer,
        visible_to=trains_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of the train whose roadmap it is on; null: the portfolio roadmap.",
    )
    program_increment = _pi_field("Id of the PI it belongs to (of the train's or the portfolio's cadence).")
    release = VisibleRelatedField(
        queryset=Release.objects.all(),
        visible_to=releases_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of the portfolio release a release milestone marks.",
    )

    class Meta:
        model = Milestone
        fields = (
            "id",
            "portfolio",
            "train",
            "name",
            "kind",
            "date",
            "program_increment",
            "release",
            "description",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("portfolio", "train")
        brief_fields = ("id", "name", "kind", "date")
        validators = []

    def create(self, validated_data):
        return services.milestone_create(actor=self.actor(), **validated_data)

    def update(self, instance, validated_data):
        return services.milestone_update(
            actor=self.actor(), milestone=instance, expected_version=self.expected_version(), **validated_data
        )


# --- The derived portfolio roadmap (read-only) ------------------------------------------

STATUS_HELP = (
    "committed (all its PIs with work are committed), forecast (none is), mixed, or target "
    "(not split into capabilities or features here: the epic's target PI)."
)


class RoadmapProgramIncrementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    is_current = serializers.BooleanField()


class RoadmapEpicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField(help_text="business or enabler.")
    state = serializers.CharField(help_text="Its column on the epic Kanban.")
    wsjf = serializers.FloatField()
    target_pi = serializers.IntegerField(source="target_pi_id", allow_null=True)
    target_pi_name = serializers.CharField(allow_null=True)
    themes = serializers.ListField(child=serializers.CharField(), help_text="Its strategic themes' names.")


class RoadmapSegmentSerializer(serializers.Serializer):
    program_increment = serializers.SerializerMethodField(help_text="Id of the PI.")
    status = serializers.CharField(help_text="committed, forecast, gap (no work in it) or target.")
    committed = serializers.IntegerField(help_text="Capabilities and features committed in that PI.")
    forecast = serializers.IntegerField(help_text="Capabilities and features forecast in that PI.")

    def get_program_increment(self, segment) -> int:
        return self.context["columns"][segment.column].id


class RoadmapItemSerializer(serializers.Serializer):
    epic = RoadmapEpicSerializer(allow_null=True)
    capability = serializers.IntegerField(
        source="capability_id", allow_null=True, help_text="For a capability of an expanded lane: its id."
    )
    label = serializers.CharField()
    first_pi = RoadmapProgramIncrementSerializer(help_text="Where its span starts (shown or not).")
    last_pi = RoadmapProgramIncrementSerializer(help_text="Where its span ends (shown or not).")
    status = serializers.CharField(help_text=STATUS_HELP)
    source = serializers.CharField(
        help_text="work (derived from its capabilities and features), target (its target PI), or capability."
    )
    starts_later_than_target = serializers.BooleanField(
        source="later_than_target", help_text="Its work here starts after its target PI ends."
    )
    clipped_start = serializers.BooleanField(help_text="It starts before the first PI shown.")
    clipped_end = serializers.BooleanField(help_text="It ends after the last PI shown.")
    capabilities = serializers.IntegerField()
    features = serializers.IntegerField()
    row = serializers.IntegerField(help_text="Its row in the lane: items in one row never overlap.")
    roadmap_train = serializers.IntegerField(
        source="roadmap_train_id", allow_null=True, help_text="The solution roadmap carrying most of it."
    )
    segments = RoadmapSegmentSerializer(many=True, help_text="Each PI shown that it spans.")

    def to_representation(self, bar):
        # The fields above, written out: a roadmap of all PIs has a couple of thousand
        # items, and nesting a serializer per field would take most of the request.
        columns = self.context["columns"]
        return {
            "epic": _epic(bar.epic, self.context),
            "capability": bar.capability_id,
            "label": bar.label,
            "first_pi": _program_increment(bar.first_pi, self.context),
            "last_pi": _program_increment(bar.last_pi, self.context),
            "status": bar.status,
            "source": bar.source,
            "starts_later_than_target": bar.later_than_target,
            "clipped_start": bar.clipped_start,
            "clipped_end": bar.clipped_end,
            "capabilities": bar.capabilities,
            "features": bar.features,
            "row": bar.row,
            "roadmap_train": bar.roadmap_train_id,
            "segments": [
                {
                    "program_increment": columns[s.column].id,
                    "status": s.status,
                    "committed": s.committed,
                    "forecast": s.forecast,
                }
                for s in bar.segments
            ],
        }


def _program_increment(column, context) -> dict:
    """RoadmapProgramIncrementSerializer's fields, once per PI and request."""
    cache = context.setdefault("_program_increments", {})
    if column.id not in cache:
        cache[column.id] = {
            "id": column.id,
            "name": column.name,
            "start_date": column.start_date.isoformat(),
            "end_date": column.end_date.isoformat(),
            "is_current": column.is_current,
        }
    return cache[column.id]


def _epic(epic, context) -> dict | None:
    """RoadmapEpicSerializer's fields, once per epic and request."""
    if epic is None:
        return None
    cache = context.setdefault("_epics", {})
    if epic.id not in cache:
        cache[epic.id] = {
            "id": epic.id,
            "key": epic.key,
            "title": epic.title,
            "kind": epic.kind,
            "state": epic.state,
            "wsjf": epic.wsjf,
            "target_pi": epic.target_pi_id,
            "target_pi_name": epic.target_pi_name,
            "themes": list(epic.themes),
        }
    return cache[epic.id]


class RoadmapMilestoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="fixed_date, pi_event, learning or release.")
    date = serializers.DateField()
    train = serializers.IntegerField(source="train_id", allow_null=True)
    program_increment_name = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    row = serializers.IntegerField(help_text="Its row of markers: labels in one row never overlap.")


class RoadmapValueStreamSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    key = serializers.CharField()
    name = serializers.CharField()


class RoadmapLaneSerializer(serializers.Serializer):
    value_stream = RoadmapValueStreamSerializer()
    rows = serializers.IntegerField()
    items = RoadmapItemSerializer(source="bars", many=True)
    expanded = serializers.BooleanField(help_text="Its capabilities are listed (?expand=<value stream id>).")
    capabilities = RoadmapItemSerializer(many=True)
    milestones = RoadmapMilestoneSerializer(many=True, help_text="Milestones of its trains.")
    solution_roadmaps = serializers.SerializerMethodField(help_text="Ids of the trains with a solution roadmap.")
    starts_later_than_target = serializers.IntegerField(source="later_than_target")
    unplaced = serializers.IntegerField(help_text="Its epics with neither work nor a target PI.")

    def get_solution_roadmaps(self, lane) -> list[int]:
        return [train.id for train in lane.roadmaps]


@extend_schema_serializer(many=False)  # answered by a ``list`` action, but one object
class RoadmapSerializer(serializers.Serializer):
    """The portfolio roadmap as the page lays it out: PIs as columns, a lane per value
    stream with its epics' spans (packed into rows), milestones."""

    portfolio = serializers.IntegerField(source="portfolio.pk")
    today = serializers.DateField()
    program_increments = RoadmapProgramIncrementSerializer(source="columns", many=True)
    current_pi = RoadmapProgramIncrementSerializer(source="current", allow_null=True)
    default_view = serializers.BooleanField(source="is_default_window")
    lanes = RoadmapLaneSerializer(many=True)
    milestones = RoadmapMilestoneSerializer(many=True, help_text="The portfolio's own milestones.")
    epic_count = serializers.IntegerField()
    starts_later_than_target = serializers.IntegerField(source="later_than_target")
