"""Serializers of integration points (with their acceptance criteria), check runs and
results. Writes go through the services, which check who may act and that everything
a point names belongs to its portfolio (400 naming the field otherwise)."""

from functools import cached_property

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio.api.serializers import (
    BriefRelatedField,
    ModelSerializer,
    PortfolioSerializer,
    UserSerializer,
    VisibleRelatedField,
)
from portfolio.selectors import portfolios_visible_to
from valuestreams.api.serializers import ProgramIncrementRefSerializer, TrainSerializer, ValueStreamSerializer
from valuestreams.filters import solution_trains_visible_to
from valuestreams.models import Dependency, Feature, Train
from valuestreams.selectors import (
    dependencies_visible_to,
    features_visible_to,
    program_increments_visible_to,
    trains_visible_to,
    value_streams_visible_to,
)

from ..checks import BLOCKING, WARNING, FindingKind
from ..models import AcceptanceCriterion, IntegrationCheckRun, IntegrationPoint, IntegrationResult, Outcome


class AcceptanceCriterionSerializer(ModelSerializer):
    """One item of a point's acceptance checklist. Writing a point's ``criteria`` replaces
    its checklist in the order given; an item whose text is kept keeps its tick unless
    ``met`` is sent."""

    met = serializers.BooleanField(required=False, allow_null=True, default=None)

    class Meta:
        model = AcceptanceCriterion
        fields = ("id", "text", "met", "position")
        read_only_fields = ("id", "position")
        brief_fields = fields


class CheckSummarySerializer(serializers.Serializer):
    """The latest check run of a point, in brief."""

    id = serializers.IntegerField(source="run_id")
    ran_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    findings = serializers.IntegerField(help_text="How many findings it recorded.")
    blocking = serializers.IntegerField(help_text="How many of them are blocking.")


class LatestResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="latest_result_id")
    verdict = serializers.CharField(source="latest_result_verdict")
    recorded_at = serializers.DateTimeField(source="latest_result_at")


class IntegrationPointSerializer(ModelSerializer):
    """A dated point in the cadence where the work of several trains or value streams is
    integrated and shown working, fully or partially.

    ``outcome`` is set by the scheduled checks (ready, at risk, not ready, missed) and
    by recorded results (passed, failed); ``latest_check`` summarises the latest check
    run (``/integration-points/{id}/check-runs/`` has them all). ``dependencies`` and
    ``features`` are the ids of those the point requires."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    program_increment = BriefRelatedField(brief=ProgramIncrementRefSerializer, visible_to=program_increments_visible_to)
    solution_train = BriefRelatedField(
        brief=TrainSerializer,
        queryset=Train.objects.all(),
        visible_to=solution_trains_visible_to,
        required=False,
        allow_null=True,
        help_text="The solution train whose STE manages this point (APMO's alone without one).",
    )
    value_streams = BriefRelatedField(
        brief=ValueStreamSerializer, visible_to=value_streams_visible_to, many=True, required=False
    )
    trains = BriefRelatedField(brief=TrainSerializer, visible_to=trains_visible_to, many=True, required=False)
    dependencies = VisibleRelatedField(
        queryset=Dependency.objects.all(),
        visible_to=dependencies_visible_to,
        many=True,
        required=False,
        help_text="Ids of the dependencies that must be delivered for it.",
    )
    features = VisibleRelatedField(
        queryset=Feature.objects.all(),
        visible_to=features_visible_to,
        many=True,
        required=False,
        help_text="Ids of the features that must be done for it.",
    )
    criteria = AcceptanceCriterionSerializer(many=True, required=False, help_text="The acceptance checklist.")
    latest_check = serializers.SerializerMethodField()
    latest_result = serializers.SerializerMethodField()

    class Meta:
        model = IntegrationPoint
        fields = (
            "id",
            "name",
            "date",
            "portfolio",
            "program_increment",
            "depth",
            "solution_train",
            "value_streams",
            "trains",
            "dependencies",
            "features",
            "criteria",
            "outcome",
            "last_checked_at",
            "latest_check",
            "latest_result",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("outcome", "last_checked_at", "version", "created_at", "updated_at")
        brief_fields = ("id", "name", "date", "depth", "outcome")
        create_only_fields = ("portfolio",)

    # One nested serializer each, reused for every point of a list: a new one per point
    # (DRF copies its fields each time) cost a fifth of a 100-point page's time.
    @cached_property
    def _check_summary(self):
        return CheckSummarySerializer()

    @cached_property
    def _latest_result(self):
        return LatestResultSerializer()

    @extend_schema_field(CheckSummarySerializer(allow_null=True))
    def get_latest_check(self, point):
        summary = getattr(point, "latest_check", None)
        return self._check_summary.to_representation(summary) if summary is not None else None

    @extend_schema_field(LatestResultSerializer(allow_null=True))
    def get_latest_result(self, point):
        if getattr(point, "latest_result_id", None) is None:
            return None
        return self._latest_result.to_representation(point)


class FindingSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(kind.value, kind.value) for kind in FindingKind])
    severity = serializers.ChoiceField(
        choices=[(BLOCKING, BLOCKING), (WARNING, WARNING)],
        help_text="blocking: the integration cannot happen with it; warning: a risk to watch.",
    )
    message = serializers.CharField()
    refs = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text='The rows it is about, e.g. {"dependency": [12]} (also train, feature, criterion).',
    )


class IntegrationCheckRunSerializer(ModelSerializer):
    """One scheduled check of a point: one per point and check window (the schedule
    interval it belongs to), with the outcome it found and its findings."""

    integration_point = serializers.IntegerField(source="integration_point_id", read_only=True)
    findings = FindingSerializer(many=True, read_only=True)

    class Meta:
        model = IntegrationCheckRun
        fields = ("id", "integration_point", "window_start", "ran_at", "outcome", "findings")
        read_only_fields = fields
        brief_fields = ("id", "window_start", "ran_at", "outcome")


class IntegrationResultSerializer(ModelSerializer):
    """A pass or fail recorded for a point by a person or a pipeline. Send an
    ``idempotency_key`` (or the ``Idempotency-Key`` header) so that a retried request
    records once."""

    integration_point = serializers.IntegerField(source="integration_point_id", read_only=True)
    recorded_by = BriefRelatedField(brief=UserSerializer, read_only=True, allow_null=True)
    idempotency_key = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="A key unique to this result (e.g. the pipeline run's id). Sent again with the same body, the "
        "first result is answered (200) and nothing is recorded; with a different body, 409. The "
        "Idempotency-Key header may carry it instead.",
    )

    class Meta:
        model = IntegrationResult
        fields = (
            "id",
            "integration_point",
            "verdict",
            "notes",
            "source_url",
            "idempotency_key",
            "recorded_by",
            "recorded_at",
        )
        read_only_fields = ("id", "recorded_by", "recorded_at")
        brief_fields = ("id", "verdict", "recorded_at")


class IdempotencyConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    original = IntegrationResultSerializer(read_only=True, help_text="The result recorded first with this key.")
