"""The API's serializer conventions, and the serializers of the portfolio level.

One serializer per model. ``ModelSerializer(nested=True)`` is its brief form (the
fields in ``Meta.brief_fields``), which other serializers embed through a
``BriefRelatedField``: written as an id, read as the brief object (as NetBox does).

Writes validate the row as the database will see it: ``create`` and ``update`` run
``full_clean`` (a model's ``clean()`` and its constraints answer 400 naming the field),
and ``update`` goes through ``update_versioned`` so a stale If-Match answers 412.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS, ManyRelatedField
from rest_framework.utils import model_meta

from cadence.models import ProgramIncrement
from portfolio.core.concurrency import update_versioned
from portfolio.filters import members_visible_to, program_increments_visible_to, themes_visible_to
from portfolio.intake import intake_gaps, takes_part_in_intake
from portfolio.models import WSJF_SCALE, Epic, EpicState, Membership, Portfolio, Role, StrategicTheme, WipLimit
from portfolio.permissions import roles_by_portfolio
from portfolio.selectors import portfolios_visible_to

from . import schema  # noqa: F401  (registers the schema extensions of brief forms)

User = get_user_model()


class LinkedField(ManyRelatedField):
    """A many-to-many field. Where a list view has read the links of its whole page at
    once (``portfolio.api.links``), they are on the instance as ``<source>_listed``
    and are answered from there; otherwise from the related manager."""

    def get_attribute(self, instance):
        listed = getattr(instance, f"{self.source}_listed", None)
        return super().get_attribute(instance) if listed is None else listed


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key given by id (or ``{"id": ...}``), chosen among what the user may see.

    ``visible_to(user)`` limits the choices, so an object of a portfolio the user is not
    a member of is refused exactly like an unknown id (its existence is not revealed).
    """

    default_error_messages = {
        "does_not_exist": "No {model} with id {pk_value} that you can see.",
        "incorrect_type": "Give the id of the {model}, not {data_type}.",
    }

    def __init__(self, *, visible_to=None, **kwargs):
        self.visible_to = visible_to
        super().__init__(**kwargs)

    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return LinkedField(child_relation=cls(*args, **kwargs), **list_kwargs)

    @property
    def _model_name(self) -> str:
        return self.queryset.model._meta.verbose_name

    def get_queryset(self):
        request = self.context.get("request")
        if self.visible_to is None:
            return super().get_queryset()
        if request is None:
            return self.queryset.none()
        return self.visible_to(request.user)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get("id")
        if isinstance(data, bool) or data is None:
            self.fail("incorrect_type", model=self._model_name, data_type=type(data).__name__)
        queryset = self.get_queryset()
        try:
            return queryset.get(pk=data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", model=self._model_name, data_type=type(data).__name__)
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", model=self._model_name, pk_value=data)


class BriefRelatedField(VisibleRelatedField):
    """A foreign key: an id in requests, the related object's brief form in answers."""

    def __init__(self, *, brief, **kwargs):
        # ``brief`` is the related model's serializer, or its dotted path (which then needs
        # an explicit ``queryset``) where the class is not defined yet, e.g. for "self".
        self._brief = brief
        if not kwargs.get("read_only") and "queryset" not in kwargs:
            kwargs["queryset"] = brief.Meta.model._default_manager.all()
        super().__init__(**kwargs)

    def brief_serializer_class(self):
        return import_string(self._brief) if isinstance(self._brief, str) else self._brief

    def brief_serializer(self):
        return self.brief_serializer_class()(nested=True, context=self.context)

    def use_pk_only_optimization(self) -> bool:
        return False

    def to_representation(self, value):
        # One brief serializer per field and answer, reused for every row of a list, and
        # one brief form per related object: a list of 100 points in one PI renders the
        # PI's brief form once, not 100 times. (The field lives as long as the
        # serializer, that is one answer; a copy is handed out, so nothing shares it.)
        brief = getattr(self, "_brief_instance", None)
        if brief is None:
            brief = self._brief_instance = self.brief_serializer()
            self._briefs = {}
        form = self._briefs.get(value.pk)
        if form is None:
            form = self._briefs[value.pk] = brief.to_representation(value)
        return dict(form)

    def get_choices(self, cutoff=None):
        # The browsable API's select boxes key their options by id, not by the brief dict.
        queryset = self.get_queryset()
        if cutoff is not None:
            queryset = queryset[:cutoff]
        return {item.pk: self.display_value(item) for item in queryset}


class UniqueWithin:
    """A value unique within a scope (``name`` within a ``portfolio``), reported on the
    field itself, where DRF's UniqueTogetherValidator would give a non-field error."""

    requires_context = True

    def __init__(self, field: str, *, within: str, message: str):
        self.field = field
        self.within = within
        self.message = message

    def __call__(self, attrs, serializer):
        instance = serializer.instance
        value = attrs.get(self.field, getattr(instance, self.field, None))
        scope = attrs.get(self.within, getattr(instance, self.within, None))
        if value is None or scope is None:
            return
        rows = serializer.Meta.model._default_manager.filter(**{self.field: value, self.within: scope})
        if instance is not None:
            rows = rows.exclude(pk=instance.pk)
        if rows.exists():
            raise serializers.ValidationError({self.field: [self.message.format(value=value)]}, code="unique")


class DomainChoiceField(serializers.ChoiceField):
    """A model field's choices; the schema names its enum after the model and field
    (``TrainKindEnum``, ``TeamKindEnum``) so that two ``kind`` fields never collide."""


class ModelSerializer(serializers.ModelSerializer):
    """Base of every Tributary serializer (see the module docstring).

    Meta options on top of DRF's: ``brief_fields`` (the brief form) and
    ``create_only_fields`` (set when the row is created, read-only afterwards).
    """

    serializer_choice_field = DomainChoiceField

    def __init__(self, *args, nested: bool = False, **kwargs):
        self.nested = nested
        if nested:
            kwargs["read_only"] = True
        super().__init__(*args, **kwargs)

    def get_field_names(self, declared_fields, info):
        if self.nested:
            return list(self.Meta.brief_fields)
        return super().get_field_names(declared_fields, info)

    def get_fields(self):
        fields = super().get_fields()
        if isinstance(self.instance, self.Meta.model):
            for name in getattr(self.Meta, "create_only_fields", ()):
                fields[name].read_only = True
                fields[name].required = False
        return fields

    def _split_many(self, validated_data):
        relations = model_meta.get_field_info(self.Meta.model).relations
        many = {
            name: validated_data.pop(name)
            for name, relation in relations.items()
            if relation.to_many and name in validated_data
        }
        return validated_data, many

    @transaction.atomic
    def create(self, validated_data):
        validated_data, many = self._split_many(dict(validated_data))
        instance = self.Meta.model(**validated_data)
        instance.full_clean()
        instance.save()
        for name, value in many.items():
            getattr(instance, name).set(value)
        return instance

    @transaction.atomic
    def update(self, instance, validated_data):
        validated_data, many = self._split_many(dict(validated_data))
        instance = update_versioned(
            instance, expected_version=self.context.get("expected_version"), changes=validated_data
        )
        for name, value in many.items():
            getattr(instance, name).set(value)
        return instance


# --- The portfolio level ------------------------------------------------------------


class UserSerializer(ModelSerializer):
    """A person (or service user) as other objects show them."""

    class Meta:
        model = User
        fields = brief_fields = ("id", "username", "first_name", "last_name")
        read_only_fields = fields


class PortfolioSerializer(ModelSerializer):
    """A portfolio and its settings; the APMO may change the settings."""

    value_stream_count = serializers.IntegerField(read_only=True)
    train_count = serializers.IntegerField(read_only=True)
    member_count = serializers.IntegerField(read_only=True)
    my_role = serializers.SerializerMethodField(help_text="Your role in this portfolio.")

    class Meta:
        model = Portfolio
        fields = (
            "id",
            "name",
            "slug",
            "description",
            "cadence",
            "terminology",
            "status_stale_days",
            "my_role",
            "value_stream_count",
            "train_count",
            "member_count",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("name", "slug", "cadence", "version", "created_at", "updated_at")
        # The model's check constraint would only report a non-field error.
        extra_kwargs = {"status_stale_days": {"min_value": 1}}
        brief_fields = ("id", "slug", "name")

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_my_role(self, portfolio) -> str | None:
        request = self.context.get("request")
        return roles_by_portfolio(request.user).get(portfolio.pk) if request else None


class MembershipSerializer(ModelSerializer):
    """A person's role in a portfolio. The APMO adds, changes and removes them."""

    user = BriefRelatedField(brief=UserSerializer, queryset=User.objects.filter(is_active=True))
    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)

    class Meta:
        model = Membership
        fields = ("id", "user", "portfolio", "role", "version", "created_at", "updated_at")
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("user", "portfolio")
        brief_fields = ("id", "user", "role")
        validators = [
            UniqueWithin("user", within="portfolio", message="This person is already a member of the portfolio."),
        ]

    def validate_role(self, role):
        membership = self.instance
        if (
            isinstance(membership, Membership)
            and membership.role == Role.APMO
            and role != Role.APMO
            and not Membership.objects.filter(portfolio_id=membership.portfolio_id, role=Role.APMO)
            .exclude(pk=membership.pk)
            .exists()
        ):
            raise serializers.ValidationError("The portfolio's last APMO cannot change role: name another APMO first.")
        return role


# --- Epics and the Kanban's WIP limits ------------------------------------------------

WSJF_SCALE_MESSAGE = f"{{input}} is not on the WSJF scale: use one of {', '.join(map(str, WSJF_SCALE))}."


class EpicValueStreamSerializer(serializers.Serializer):
    """A value stream the epic touches. Read-only here: the link is kept on the value
    stream (``/api/v1/value-streams/``)."""

    id = serializers.IntegerField(read_only=True)
    key = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class EpicSerializer(ModelSerializer):
    """An epic of a portfolio's Kanban, prioritised by WSJF.

    ``state`` is read-only: an epic changes column through ``POST .../move/``, which
    enforces the WIP limits. The WSJF components take the modified Fibonacci values 1,
    2, 3, 5, 8, 13, 20; ``wsjf`` is computed by the database. Portfolio managers create
    and edit epics; enterprise architects enabler epics only.
    """

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    owner = BriefRelatedField(brief=UserSerializer, visible_to=members_visible_to, required=False, allow_null=True)
    themes = VisibleRelatedField(
        many=True,
        queryset=StrategicTheme.objects.all(),
        visible_to=themes_visible_to,
        required=False,
        help_text="Ids of the portfolio's strategic themes the epic serves.",
    )
    target_pi = VisibleRelatedField(
        queryset=ProgramIncrement.objects.all(),
        visible_to=program_increments_visible_to,
        required=False,
        allow_null=True,
        help_text="Id of the PI (of the portfolio's cadence) the epic is to enter.",
    )
    target_pi_name = serializers.CharField(source="target_pi.name", read_only=True, allow_null=True, default=None)
    value_streams = EpicValueStreamSerializer(many=True, read_only=True)
    wsjf = serializers.FloatField(read_only=True, help_text="Cost of delay ÷ job size.")
    cost_of_delay = serializers.IntegerField(
        read_only=True, help_text="User-business value + time criticality + risk reduction & opportunity enablement."
    )
    intake_gaps = serializers.SerializerMethodField(
        help_text="What the epic lacks to enter its target PI at the intake cutoff (empty when ready)."
    )

    class Meta:
        model = Epic
        fields = (
            "id",
            "key",
            "title",
            "description",
            "kind",
            "state",
            "portfolio",
            "owner",
            "themes",
            "target_pi",
            "target_pi_name",
            "value_streams",
            "business_value",
            "time_criticality",
            "risk_reduction",
            "job_size",
            "wsjf",
            "cost_of_delay",
            "mvp_hypothesis",
            "intake_gaps",
            "state_changed_at",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("state", "state_changed_at", "version", "created_at", "updated_at")
        create_only_fields = ("portfolio",)
        brief_fields = ("id", "key", "title", "kind", "state")
        extra_kwargs = {
            component: {"error_messages": {"invalid_choice": WSJF_SCALE_MESSAGE}}
            for component in ("business_value", "time_criticality", "risk_reduction", "job_size")
        }
        validators = [
            UniqueWithin("key", within="portfolio", message='The portfolio already has an epic with key "{value}".'),
        ]

    def get_intake_gaps(self, epic) -> list[str]:
        return intake_gaps(epic) if takes_part_in_intake(epic) else []

    def validate(self, attrs):
        epic = self.instance if isinstance(self.instance, Epic) else None
        portfolio = attrs.get("portfolio") or (epic.portfolio if epic else None)
        if portfolio is None:
            return attrs
        errors = {}
        target_pi = attrs.get("target_pi")
        if target_pi is not None and target_pi.cadence_id != portfolio.cadence_id:
            errors["target_pi"] = f"{target_pi.name} is not a PI of the cadence {portfolio.name} follows."
        strangers = [theme.name for theme in attrs.get("themes", ()) if theme.portfolio_id != portfolio.pk]
        if strangers:
            errors["themes"] = f"Not strategic themes of {portfolio.name}: {', '.join(strangers)}."
        owner = attrs.get("owner")
        if owner is not None and not Membership.objects.filter(user=owner, portfolio=portfolio).exists():
            errors["owner"] = f"{owner.get_username()} is not a member of {portfolio.name}."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class EpicMoveSerializer(serializers.Serializer):
    """Move an epic to another Kanban column."""

    state = DomainChoiceField(choices=EpicState.choices, help_text="The column to move the epic to.")
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The epic's version you saw; if it changed since, the answer is 412 and nothing moves. "
        "Instead of it, If-Match may carry the ETag.",
    )

    class Meta:
        model = Epic  # names the schema's enum of ``state`` EpicStateEnum, as on the epic itself


class WipLimitRefusalSerializer(serializers.Serializer):
    """The answer when a move would exceed the target column's WIP limit (409)."""

    detail = serializers.CharField()
    state = DomainChoiceField(choices=EpicState.choices)
    limit = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Epics in the column now.")

    class Meta:
        model = Epic  # names the schema's enum of ``state`` EpicStateEnum


class WipLimitSerializer(ModelSerializer):
    """The WIP limit of one column of a portfolio's epic Kanban, with the column's current
    count. Portfolio managers set them; a limit below the count is allowed (the column is
    then over its limit and takes no epic until it drains). The funnel and done have none."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    epic_count = serializers.IntegerField(read_only=True, help_text="Epics in the column now.")
    over_limit = serializers.SerializerMethodField()

    class Meta:
        model = WipLimit
        fields = (
            "id",
            "portfolio",
            "state",
            "limit",
            "epic_count",
            "over_limit",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("portfolio", "state")
        brief_fields = ("id", "state", "limit")
        extra_kwargs = {"limit": {"min_value": 1, "max_value": 999}}
        validators = [
            UniqueWithin("state", within="portfolio", message="The portfolio already has a WIP limit for {value}."),
        ]

    def get_over_limit(self, wip_limit) -> bool:
        count = getattr(wip_limit, "epic_count", None)
        return count is not None and count > wip_limit.limit
