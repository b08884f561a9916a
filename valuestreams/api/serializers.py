"""Serializers of value streams, trains and teams (one per model, each with a brief form).

Rules about one row are the model's ``clean()`` (run by the base serializer's writes);
what is checked here spans rows: uniqueness within a scope, and related objects that
must belong to the same portfolio.
"""

from django.db.models import Q
from rest_framework import serializers

from cadence.models import Cadence
from portfolio.api.serializers import (
    BriefRelatedField,
    ModelSerializer,
    PortfolioSerializer,
    UniqueWithin,
    UserSerializer,
    VisibleRelatedField,
)
from portfolio.filters import members_visible_to
from portfolio.models import Membership
from portfolio.permissions import visible_portfolio_ids
from portfolio.selectors import portfolios_visible_to

from ..models import Team, Train, TrainKind, ValueStream
from ..selectors import trains_visible_to, value_streams_visible_to


def cadences_visible_to(user):
    """Cadences followed by a portfolio, value stream or train the user can see."""
    ids = visible_portfolio_ids(user)
    return Cadence.objects.filter(
        Q(portfolios__in=ids) | Q(value_streams__portfolio__in=ids) | Q(trains__value_stream__portfolio__in=ids)
    ).distinct()


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


class TrainSerializer(ModelSerializer):
    """An ART or a solution train. An ART may belong to a solution train; the engineer
    (RTE or STE) must be a member of the portfolio."""

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
