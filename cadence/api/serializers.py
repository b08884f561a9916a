"""Serializers of cadences, PIs, iterations and cadence events (one per model, each
with a brief form). Writes go through the cadence's services, which check the rules
that span rows (no overlapping PIs, iterations inside their PI and in order, events
inside their PI): a refusal answers 400 naming the field, a stale If-Match 412."""

from django.utils import timezone
from rest_framework import serializers

from portfolio.api.serializers import BriefRelatedField, ModelSerializer

from .. import services
from ..models import Cadence, CadenceEvent, Iteration, ProgramIncrement
from ..services import MAX_PIS_PER_GENERATION


class _ServiceUpdateSerializer(ModelSerializer):
    """Updates call ``update_service(actor=..., <model name>=..., expected_version=...,
    **every editable field)``: a partial update sends the unchanged values along."""

    editable: tuple[str, ...] = ()
    options: dict[str, object] = {}  # write-only arguments of the service, with their defaults
    instance_argument = ""

    def update_service(self, **kwargs):
        raise NotImplementedError

    def update(self, instance, validated_data):
        values = {
            name: validated_data[name] if name in validated_data else getattr(instance, name) for name in self.editable
        }
        values |= {name: validated_data.get(name, default) for name, default in self.options.items()}
        return self.update_service(
            actor=self.context["request"].user,
            expected_version=self.context.get("expected_version"),
            **{self.instance_argument: instance},
            **values,
        )


class CadenceSerializer(_ServiceUpdateSerializer):
    """A cadence: how its PIs are laid out. Changing it shapes the PIs generated from
    then on; the start date can change only while it has no PI."""

    editable = (
        "name",
        "start_date",
        "iterations_per_pi",
        "iteration_length_days",
        "has_ip_iteration",
        "intake_cutoff_days",
    )
    instance_argument = "cadence"
    pi_length_days = serializers.IntegerField(read_only=True, help_text="Iterations per PI × iteration length.")
    program_increment_count = serializers.IntegerField(read_only=True)
    last_pi_end = serializers.DateField(read_only=True, allow_null=True, help_text="When its last PI ends.")

    class Meta:
        model = Cadence
        fields = (
            "id",
            "name",
            "start_date",
            "iterations_per_pi",
            "iteration_length_days",
            "has_ip_iteration",
            "intake_cutoff_days",
            "pi_length_days",
            "program_increment_count",
            "last_pi_end",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        brief_fields = ("id", "name")
        extra_kwargs = {
            "iterations_per_pi": {"min_value": 1, "max_value": 12},
            "iteration_length_days": {"min_value": 5, "max_value": 35},
        }

    def update_service(self, **kwargs):
        return services.cadence_update(**kwargs)


class ProgramIncrementSerializer(_ServiceUpdateSerializer):
    """A Program Increment (SAFe 6: Planning Interval). Its dates may not overlap another
    PI of its cadence, and must keep its iterations and events inside it; with
    ``move_contents`` a new start date moves them along."""

    editable = ("name", "start_date", "end_date", "planning_date", "intake_cutoff")
    options = {"move_contents": False}
    instance_argument = "pi"
    cadence = BriefRelatedField(brief=CadenceSerializer, read_only=True)
    is_current = serializers.SerializerMethodField(help_text="It includes today.")
    move_contents = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="With a new start date, move the PI's iterations and events (and its planning date and intake "
        "cutoff, unless given) by as many days.",
    )

    class Meta:
        model = ProgramIncrement
        fields = (
            "id",
            "cadence",
            "number",
            "name",
            "start_date",
            "end_date",
            "planning_date",
            "intake_cutoff",
            "is_current",
            "move_contents",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("number", "version", "created_at", "updated_at")
        brief_fields = ("id", "name", "number", "start_date", "end_date")
        validators = []  # uniqueness within the cadence is the service's, reported on the field

    def get_is_current(self, pi) -> bool:
        return pi.contains(timezone.localdate())

    def update_service(self, **kwargs):
        return services.program_increment_update(**kwargs)


class IterationSerializer(_ServiceUpdateSerializer):
    """An iteration of a PI; the last may be an Innovation & Planning (IP) iteration. It
    stays inside its PI and starts after the iteration before it ends."""

    editable = ("start_date", "end_date", "is_innovation_planning")
    instance_argument = "iteration"
    program_increment = BriefRelatedField(brief=ProgramIncrementSerializer, read_only=True)
    cadence = serializers.IntegerField(source="program_increment.cadence_id", read_only=True)

    class Meta:
        model = Iteration
        fields = (
            "id",
            "program_increment",
            "cadence",
            "number",
            "start_date",
            "end_date",
            "is_innovation_planning",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("number", "version", "created_at", "updated_at")
        brief_fields = ("id", "number", "start_date", "end_date", "is_innovation_planning")
        validators = []

    def update_service(self, **kwargs):
        return services.iteration_update(**kwargs)


class CadenceEventSerializer(_ServiceUpdateSerializer):
    """A dated event of the cadence (PI planning, a system demo, inspect & adapt, ...),
    within its PI and linked to the iteration its first day falls in."""

    editable = ("name", "kind", "start_date", "end_date")
    instance_argument = "event"
    program_increment = BriefRelatedField(brief=ProgramIncrementSerializer, read_only=True)
    iteration = BriefRelatedField(brief=IterationSerializer, read_only=True, allow_null=True)
    cadence = serializers.IntegerField(source="program_increment.cadence_id", read_only=True)

    class Meta:
        model = CadenceEvent
        fields = (
            "id",
            "program_increment",
            "iteration",
            "cadence",
            "kind",
            "name",
            "start_date",
            "end_date",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        brief_fields = ("id", "kind", "name", "start_date", "end_date")

    def update_service(self, **kwargs):
        return services.cadence_event_update(**kwargs)


class GenerateSerializer(serializers.Serializer):
    """Extend a cadence by ``count`` PIs. ``after_number``: the last PI number you know
    of; PIs numbered after it that exist already are not made again, so a retried
    request extends the cadence once. Without it, ``count`` PIs follow the last one."""

    count = serializers.IntegerField(min_value=1, max_value=MAX_PIS_PER_GENERATION)
    after_number = serializers.IntegerField(min_value=0, required=False, allow_null=True)
