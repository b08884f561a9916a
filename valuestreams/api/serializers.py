"""Serializers of value streams, trains, teams, status reports and dependencies (one per
model, each with a brief form), and of the dependency map and a slip's impact.

Rules about one row are the model's ``clean()`` (run by the base serializer's writes,
or by the services the status and dependency endpoints call); what is checked here
spans rows: uniqueness within a scope, and related objects that must belong to the
same portfolio.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cadence.models import Cadence, Iteration, ProgramIncrement
from portfolio.api.serializers import (
    BriefRelatedField,
    ModelSerializer,
    PortfolioSerializer,
    UniqueWithin,
    UserSerializer,
    VisibleRelatedField,
)
from portfolio.filters import members_visible_to
from portfolio.models import Epic, Membership
from portfolio.selectors import epics_visible_to, portfolios_visible_to

from ..models import (
    Dependency,
    DependencyColour,
    DependencyEvent,
    DependencyFlag,
    Feature,
    StatusReport,
    Team,
    Train,
    TrainKind,
    ValueStream,
)
from ..selectors import (
    cadences_visible_to,
    features_visible_to,
    iterations_visible_to,
    program_increments_in,
    program_increments_visible_to,
    trains_visible_to,
    value_streams_visible_to,
)


def cadence_field():
    return VisibleRelatedField(
        queryset=Cadence.objects.all(),
        visible_to=cadences_visible_to,
        required=False,
        allow_null=True,
        help_text="Leave empty to follow the enclosing cadence (value stream's or portfolio's).",
    )


class ValueStreamSerializer(ModelSerializer):
    """A value stream of a portfolio."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    cadence = cadence_field()
    train_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ValueStream
        fields = (
            "id",
            "key",
            "name",
            "description",
            "portfolio",
            "cadence",
            "train_count",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        brief_fields = ("id", "key", "name")
        create_only_fields = ("portfolio",)
        validators = [
            UniqueWithin(
                "name", within="portfolio", message='The portfolio already has a value stream named "{value}".'
            ),
            UniqueWithin(
                "key", within="portfolio", message='The portfolio already has a value stream with key "{value}".'
            ),
        ]


class StatusReportSerializer(ModelSerializer):
    """One weekly status of a train. Reports are never edited: each update is a new one.

    ``based_on`` is the id of the train's latest report the author saw when writing
    (null for a train's first report). If a newer report was posted meanwhile, the new
    one is refused with 409 and the newer report, so nothing is silently superseded.
    """

    train = BriefRelatedField(brief="valuestreams.api.serializers.TrainSerializer", read_only=True)
    value_stream = serializers.IntegerField(source="train.value_stream_id", read_only=True)
    author = BriefRelatedField(brief=UserSerializer, read_only=True)
    based_on = serializers.IntegerField(
        source="based_on_id",
        allow_null=True,
        help_text="The id of the train's latest status report when you wrote this one (null if it had none). "
        "A newer report since then answers 409 with that report.",
    )

    class Meta:
        model = StatusReport
        fields = (
            "id",
            "train",
            "value_stream",
            "author",
            "created_at",
            "health",
            "pi_confidence",
            "summary",
            "risks",
            "blockers",
            "based_on",
        )
        read_only_fields = ("created_at",)
        brief_fields = ("id", "health", "pi_confidence", "created_at")
        extra_kwargs = {"pi_confidence": {"min_value": 1, "max_value": 5}}

    def validate_based_on(self, based_on_id):
        train = self.context.get("train")
        if based_on_id is not None and not StatusReport.objects.filter(pk=based_on_id, train=train).exists():
            raise serializers.ValidationError(f"{train} has no status report with id {based_on_id}.")
        return based_on_id


class TrainSerializer(ModelSerializer):
    """An ART or a solution train. An ART may belong to a solution train; the engineer
    (RTE or STE) must be a member of the portfolio. ``latest_status`` is its current
    status report in brief (null if it has none)."""

    value_stream = BriefRelatedField(brief=ValueStreamSerializer, visible_to=value_streams_visible_to)
    portfolio = serializers.IntegerField(source="value_stream.portfolio_id", read_only=True)
    solution_train = BriefRelatedField(
        brief="valuestreams.api.serializers.TrainSerializer",
        queryset=Train.objects.all(),
        visible_to=trains_visible_to,
        required=False,
        allow_null=True,
        help_text="For an ART: the solution train it belongs to.",
    )
    engineer = BriefRelatedField(
        brief=UserSerializer,
        visible_to=members_visible_to,
        required=False,
        allow_null=True,
        help_text="The RTE of an ART or the STE of a solution train.",
    )
    cadence = cadence_field()
    team_count = serializers.IntegerField(read_only=True, help_text="Teams whose home train this is.")
    latest_status = serializers.SerializerMethodField()

    class Meta:
        model = Train
        fields = (
            "id",
            "key",
            "name",
            "kind",
            "portfolio",
            "value_stream",
            "solution_train",
            "engineer",
            "cadence",
            "team_count",
            "latest_status",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        brief_fields = ("id", "key", "name", "kind")
        validators = [
            UniqueWithin(
                "name", within="value_stream", message='The value stream already has a train named "{value}".'
            ),
            UniqueWithin(
                "key", within="value_stream", message='The value stream already has a train with key "{value}".'
            ),
        ]

    @extend_schema_field(StatusReportSerializer(nested=True, allow_null=True))
    def get_latest_status(self, train):
        # From the annotations of selectors.with_latest_status_summary: no query per train.
        report_id = getattr(train, "latest_status_id", None)
        if report_id is None:
            return None
        report = StatusReport(
            pk=report_id,
            train=train,
            health=train.latest_status_health,
            created_at=train.latest_status_at,
            pi_confidence=train.latest_status_confidence,
        )
        # One brief serializer per request, reused for every train of a list.
        brief = getattr(self, "_latest_status_brief", None)
        if brief is None:
            brief = self._latest_status_brief = StatusReportSerializer(nested=True, context=self.context)
        return brief.to_representation(report)

    def validate_solution_train(self, solution_train):
        # The model's clean() refuses it too; this names the train in plain words.
        if solution_train is not None and solution_train.kind != TrainKind.SOLUTION:
            raise serializers.ValidationError(f"{solution_train} is an ART, not a solution train.")
        return solution_train

    def validate(self, attrs):
        train = self.instance if isinstance(self.instance, Train) else None
        errors = {}
        fixed_kind = self.context.get("fixed_kind")
        if fixed_kind:
            # /solution-trains/ and /arts/ hold one kind each.
            if attrs.get("kind", fixed_kind) != fixed_kind:
                errors["kind"] = f"This endpoint holds only {TrainKind(fixed_kind).label}s: use /api/v1/trains/."
            if train is None:
                attrs["kind"] = fixed_kind
        value_stream = attrs.get("value_stream", train.value_stream if train else None)
        if train and value_stream.portfolio_id != train.value_stream.portfolio_id:
            errors["value_stream"] = "A train moves only between value streams of its own portfolio."
        if (
            train
            and train.kind == TrainKind.SOLUTION
            and attrs.get("kind", train.kind) != TrainKind.SOLUTION
            and train.arts.exists()
        ):
            errors["kind"] = "ARTs still belong to this solution train: move them out before changing its kind."
        engineer = attrs.get("engineer")
        if (
            engineer is not None
            and value_stream is not None
            and not Membership.objects.filter(user=engineer, portfolio_id=value_stream.portfolio_id).exists()
        ):
            errors["engineer"] = f"{engineer} is not a member of this portfolio."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TeamSerializer(ModelSerializer):
    """An agile team on its home train, or a system team or shared service that may
    serve further trains of its portfolio."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    train = BriefRelatedField(
        brief=TrainSerializer,
        visible_to=trains_visible_to,
        required=False,
        allow_null=True,
        help_text="The home train (required for an agile team).",
    )
    serves = BriefRelatedField(
        brief=TrainSerializer,
        visible_to=trains_visible_to,
        many=True,
        required=False,
        help_text="Further trains a system team or shared service serves.",
    )

    class Meta:
        model = Team
        fields = ("id", "name", "kind", "portfolio", "train", "serves", "version", "created_at", "updated_at")
        read_only_fields = ("version", "created_at", "updated_at")
        brief_fields = ("id", "name", "kind")
        create_only_fields = ("portfolio",)
        validators = [
            UniqueWithin("name", within="portfolio", message='The portfolio already has a team named "{value}".'),
        ]

    def validate(self, attrs):
        team = self.instance if isinstance(self.instance, Team) else None
        portfolio_id = attrs["portfolio"].pk if "portfolio" in attrs else team.portfolio_id
        errors = {}
        train = attrs.get("train")
        if train is not None and train.value_stream.portfolio_id != portfolio_id:
            errors["train"] = f"{train} belongs to another portfolio: choose a train of the team's portfolio."
        elsewhere = [str(t) for t in attrs.get("serves", ()) if t.value_stream.portfolio_id != portfolio_id]
        if elsewhere:
            errors["serves"] = f"{', '.join(elsewhere)}: not in the team's portfolio."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- Dependencies --------------------------------------------------------------------


class ReferenceSerializer(serializers.ModelSerializer):
    """A read-only reference to an object whose own API lives in another part of the
    code (a PI, an iteration, a feature, an epic): enough to name and place it."""

    def __init__(self, *args, nested: bool = True, **kwargs):
        kwargs["read_only"] = True
        super().__init__(*args, **kwargs)


class ProgramIncrementRefSerializer(ReferenceSerializer):
    class Meta:
        model = ProgramIncrement
        fields = ("id", "name", "start_date", "end_date")


class IterationRefSerializer(ReferenceSerializer):
    program_increment = serializers.IntegerField(source="program_increment_id")

    class Meta:
        model = Iteration
        fields = ("id", "number", "program_increment", "start_date", "end_date", "is_innovation_planning")


class FeatureRefSerializer(ReferenceSerializer):
    train = serializers.IntegerField(source="train_id")

    class Meta:
        model = Feature
        fields = ("id", "key", "name", "train", "state")


class EpicRefSerializer(ReferenceSerializer):
    class Meta:
        model = Epic
        fields = ("id", "key", "title", "kind")


@extend_schema_field(
    {
        "type": "string",
        "enum": DependencyColour.values,
        "description": "Planning-board colour: red = committed after it is needed, amber = the same "
        "iteration, green = earlier (or delivered), grey = no commitment.",
    }
)
class ColourField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=DependencyColour.choices, read_only=True, **kwargs)


class DependencyEventSerializer(ModelSerializer):
    """One recorded step of a dependency's workflow."""

    actor = BriefRelatedField(brief=UserSerializer, read_only=True)

    class Meta:
        model = DependencyEvent
        fields = ("id", "at", "actor", "action", "from_state", "to_state", "flag", "reason")
        read_only_fields = fields
        brief_fields = fields


class DependencySerializer(ModelSerializer):
    """One train (the consumer) needs something from another (the provider) by a PI or
    one of its iterations. The workflow fields (state, flag, commitment, delivery) are
    changed only by the actions ``/dependencies/{id}/{transition}/``."""

    portfolio = serializers.IntegerField(source="portfolio_id", read_only=True)
    consumer = BriefRelatedField(
        brief=TrainSerializer, visible_to=trains_visible_to, help_text="The train that needs it."
    )
    provider = BriefRelatedField(
        brief=TrainSerializer, visible_to=trains_visible_to, help_text="The train that gives it."
    )
    consumer_value_stream = BriefRelatedField(
        brief=ValueStreamSerializer, source="consumer.value_stream", read_only=True
    )
    provider_value_stream = BriefRelatedField(
        brief=ValueStreamSerializer, source="provider.value_stream", read_only=True
    )
    needed_by_pi = BriefRelatedField(brief=ProgramIncrementRefSerializer, visible_to=program_increments_visible_to)
    needed_by_iteration = BriefRelatedField(
        brief=IterationRefSerializer,
        visible_to=iterations_visible_to,
        required=False,
        allow_null=True,
        help_text="An iteration of the needed-by PI; without one, the end of the PI.",
    )
    needed_by = serializers.DateField(read_only=True, help_text="The end of the needed-by iteration, else of the PI.")
    committed_pi = BriefRelatedField(brief=ProgramIncrementRefSerializer, read_only=True, allow_null=True)
    committed_iteration = BriefRelatedField(brief=IterationRefSerializer, read_only=True, allow_null=True)
    committed_by = serializers.DateField(
        read_only=True, allow_null=True, help_text="The end of the committed iteration, else of the PI; null if none."
    )
    colour = ColourField()
    late = serializers.SerializerMethodField(
        help_text="Still open, and red or past its needed-by date (as of today in the server's time zone)."
    )
    cross_value_stream = serializers.BooleanField(source="is_cross_value_stream", read_only=True)
    consumer_feature = BriefRelatedField(
        brief=FeatureRefSerializer,
        visible_to=features_visible_to,
        required=False,
        allow_null=True,
        help_text="The consumer's feature that needs it.",
    )
    provider_feature = BriefRelatedField(brief=FeatureRefSerializer, read_only=True, allow_null=True)
    epic = BriefRelatedField(brief=EpicRefSerializer, visible_to=epics_visible_to, required=False, allow_null=True)
    raised_by = BriefRelatedField(brief=UserSerializer, read_only=True, allow_null=True)

    class Meta:
        model = Dependency
        fields = (
            "id",
            "key",
            "title",
            "description",
            "portfolio",
            "consumer",
            "provider",
            "consumer_value_stream",
            "provider_value_stream",
            "cross_value_stream",
            "needed_by_pi",
            "needed_by_iteration",
            "needed_by",
            "state",
            "flag",
            "flag_reason",
            "committed_pi",
            "committed_iteration",
            "committed_by",
            "colour",
            "late",
            "consumer_feature",
            "provider_feature",
            "epic",
            "raised_by",
            "delivered_on",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "key",
            "state",
            "flag",
            "flag_reason",
            "delivered_on",
            "version",
            "created_at",
            "updated_at",
        )
        brief_fields = ("id", "key", "title", "state", "consumer", "provider")
        create_only_fields = ("consumer",)

    def get_late(self, dependency) -> bool:
        return dependency.is_late_on(self.context["today"])

    def validate(self, attrs):
        """What spans rows: everything named must be of the consumer's portfolio."""
        dependency = self.instance if isinstance(self.instance, Dependency) else None
        consumer = attrs.get("consumer") or dependency.consumer
        portfolio_id = consumer.value_stream.portfolio_id
        errors = {}
        provider = attrs.get("provider")
        if provider is not None and provider.value_stream.portfolio_id != portfolio_id:
            errors["provider"] = f"{provider} is not a train of {consumer}'s portfolio."
        pi = attrs.get("needed_by_pi")
        if pi is not None and not program_increments_in([portfolio_id]).filter(pk=pi.pk).exists():
            errors["needed_by_pi"] = f"{pi} is not a PI of the cadences {consumer}'s portfolio follows."
        feature = attrs.get("consumer_feature")
        if feature is not None and feature.train_id != consumer.pk:
            errors["consumer_feature"] = f"{feature.key} is not a feature of {consumer}: choose one of the consumer's."
        epic = attrs.get("epic")
        if epic is not None and epic.portfolio_id != portfolio_id:
            errors["epic"] = f"{epic.key} is an epic of another portfolio."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AvailableActionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The action's path segment: POST /dependencies/{id}/{name}/.")
    label = serializers.CharField()
    needs_reason = serializers.BooleanField()


class DependencyDetailSerializer(DependencySerializer):
    """A dependency as its own page shows it: with its recorded workflow steps, newest
    first, and the actions the requesting user may take on it now."""

    events = DependencyEventSerializer(many=True, read_only=True)
    available_actions = serializers.SerializerMethodField()

    class Meta(DependencySerializer.Meta):
        fields = (*DependencySerializer.Meta.fields, "events", "available_actions")

    @extend_schema_field(AvailableActionSerializer(many=True))
    def get_available_actions(self, dependency):
        from ..services import actions_available

        request = self.context.get("request")
        if request is None:
            return []
        return [
            {"name": action.name.replace("_", "-"), "label": action.label, "needs_reason": action.needs_reason}
            for action in actions_available(request.user, dependency)
        ]


class DependencyTransitionSerializer(serializers.Serializer):
    """What a workflow step may carry. A reason is required to decline, flag or cancel;
    ``commit`` needs ``committed_pi`` (and may name an iteration of it); ``flag`` needs
    ``flag``; any provider step may name the provider's delivering feature."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")
    flag = serializers.ChoiceField(
        choices=[(DependencyFlag.AT_RISK, "At risk"), (DependencyFlag.BLOCKED, "Blocked")],
        required=False,
        default="",
        help_text="For flag: at_risk or blocked.",
    )
    committed_pi = VisibleRelatedField(
        queryset=ProgramIncrement.objects.all(),
        visible_to=program_increments_visible_to,
        required=False,
        allow_null=True,
        help_text="For commit: the PI the provider commits to.",
    )
    committed_iteration = VisibleRelatedField(
        queryset=Iteration.objects.all(),
        visible_to=iterations_visible_to,
        required=False,
        allow_null=True,
        help_text="For commit: an iteration of the committed PI.",
    )
    provider_feature = VisibleRelatedField(
        queryset=Feature.objects.all(),
        visible_to=features_visible_to,
        required=False,
        allow_null=True,
        help_text="The provider's feature that delivers it.",
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you acted on (or send it as If-Match); a newer one answers 412.",
    )

    def validate_committed_pi(self, pi):
        dependency = self.context["dependency"]
        if pi is not None and not program_increments_in([dependency.portfolio_id]).filter(pk=pi.pk).exists():
            raise serializers.ValidationError(f"{pi} is not a PI of the cadences this portfolio follows.")
        return pi


# --- A slip's impact and the dependency map (plain structures, read only) --------------


class SlipCountsSerializer(serializers.Serializer):
    features = serializers.IntegerField()
    dependencies = serializers.IntegerField()
    epics = serializers.IntegerField()
    trains = serializers.IntegerField()


class SlipImpactSerializer(serializers.Serializer):
    """What slips if this dependency slips: the consumer's feature that needs it, the
    open dependencies that feature delivers in turn (transitively), their consumers'
    features, the epics of all those features and the trains involved."""

    features = FeatureRefSerializer(many=True)
    dependencies = DependencySerializer(nested=True, many=True, read_only=True)
    epics = EpicRefSerializer(many=True)
    trains = TrainSerializer(nested=True, many=True, read_only=True)
    counts = SlipCountsSerializer()
    steps = serializers.IntegerField(help_text="How many links were followed downstream.")


class MapNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The train's id (the value stream's in value_streams mode).")
    label = serializers.CharField()
    sublabel = serializers.CharField()
    kind = serializers.CharField(help_text="art, solution (a solution train) or value_stream.")
    value_stream_id = serializers.IntegerField()
    in_cycle = serializers.BooleanField(help_text="Part of a loop of dependencies.")
    hub = serializers.BooleanField(help_text="Trades with many others: a coordination hub.")
    gives = serializers.IntegerField(help_text="How many nodes it provides to.")
    needs = serializers.IntegerField(help_text="How many nodes it needs something from.")
    x = serializers.FloatField()
    y = serializers.FloatField()
    w = serializers.FloatField()
    h = serializers.FloatField()


class MapGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The value stream's id.")
    label = serializers.CharField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    w = serializers.FloatField()
    h = serializers.FloatField()


class MapEdgeSerializer(serializers.Serializer):
    provider = serializers.IntegerField(help_text="The node that gives.")
    consumer = serializers.IntegerField(help_text="The node that needs.")
    count = serializers.IntegerField(help_text="How many dependencies the edge stands for.")
    colour = ColourField(help_text="The worst colour among them.")
    colours = serializers.DictField(child=serializers.IntegerField(), help_text="How many of each colour.")
    late = serializers.IntegerField(help_text="How many of them are late.")
    cross_value_stream = serializers.BooleanField()
    in_cycle = serializers.BooleanField()
    path = serializers.CharField(help_text="The SVG path the page draws.")


class MapCycleSerializer(serializers.Serializer):
    members = serializers.ListField(
        child=serializers.CharField(), help_text="The loop's nodes (a strongly connected component)."
    )
    example = serializers.ListField(
        child=serializers.CharField(), help_text="One loop through them, back to its start."
    )


class DependencyMapSerializer(serializers.Serializer):
    """The dependency map as the page draws it: nodes (trains, or value streams), one edge
    per provider→consumer pair, loops as strongly connected components with an example."""

    portfolio = serializers.SerializerMethodField()
    mode = serializers.CharField(help_text="trains or value_streams.")
    nodes = MapNodeSerializer(many=True)
    groups = MapGroupSerializer(many=True, help_text="Value-stream boxes around their trains (trains mode).")
    edges = MapEdgeSerializer(many=True)
    cycles = MapCycleSerializer(many=True)
    dependency_count = serializers.IntegerField(help_text="How many dependencies the map stands for.")
    colour_totals = serializers.DictField(child=serializers.IntegerField(), help_text="How many of each colour.")
    width = serializers.FloatField()
    height = serializers.FloatField()

    def get_portfolio(self, _map) -> int:
        return self.context["portfolio"].pk
