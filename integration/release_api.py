"""The releases API (/api/v1/releases/): list, read, create, change and delete portfolio
releases, each with its readiness derived from its gating integration points.

Writes go through ``integration.releases`` (the same services as the pages): APMO, or
the STE of the solution trains of all the release's value streams; the release's
roadmap milestone follows every change. Single releases carry an ETag; a write with a
stale If-Match answers 412 with the current release.
"""

import django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, viewsets

from portfolio.api.mixins import VersionedMixin, reread
from portfolio.api.permissions import RulesPermission
from portfolio.api.serializers import BriefRelatedField, ModelSerializer, PortfolioSerializer, UniqueWithin
from portfolio.core.concurrency import StaleVersion
from portfolio.filters import visible_choices
from portfolio.models import Portfolio
from portfolio.selectors import portfolios_visible_to
from valuestreams.api.serializers import ValueStreamSerializer
from valuestreams.models import ValueStream
from valuestreams.selectors import value_streams_visible_to

from .api.serializers import IntegrationPointSerializer
from .models import Outcome, Release
from .releases import (
    ADD_RELEASE,
    MANAGE_RELEASE,
    WHO_MAY,
    Readiness,
    release_create,
    release_delete,
    release_readiness,
    release_update,
    releases_visible_to,
    with_gates,
)
from .selectors import integration_points_visible_to


class ReleaseFilterSet(django_filters.FilterSet):
    """Releases by portfolio, value stream spanned, and date range."""

    portfolio = django_filters.ModelChoiceFilter(queryset=visible_choices(portfolios_visible_to, Portfolio))
    value_stream = django_filters.ModelChoiceFilter(
        field_name="value_streams",
        queryset=visible_choices(value_streams_visible_to, ValueStream),
        label="Value stream",
        distinct=True,
    )
    date_after = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="On or after")
    date_before = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="On or before")

    class Meta:
        model = Release
        fields = ("portfolio", "value_stream", "date_after", "date_before")


class GateSerializer(serializers.Serializer):
    """A gating integration point as the release sees it."""

    id = serializers.IntegerField(source="point.pk")
    name = serializers.CharField(source="point.name")
    date = serializers.DateField(source="point.date")
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        help_text="The point's outcome, counting a result recorded since its last check.",
    )
    after_release = serializers.BooleanField(help_text="Dated after the release and not passed yet.")


class ReadinessSerializer(serializers.Serializer):
    """Blocked if a gate failed or was missed; ready if every gate passed; at risk if a
    gate is at risk or not ready, or still to pass after the release's date; else pending
    (gates still to come, or none yet)."""

    state = serializers.ChoiceField(choices=Readiness.choices)
    reason = serializers.CharField()
    gates_passed = serializers.IntegerField(source="passed")
    gates = GateSerializer(many=True)


class ReleaseSerializer(ModelSerializer):
    """A portfolio release spanning value streams, gated on integration points passing.
    ``readiness`` is derived from the gates' outcomes. The release shows on the portfolio
    roadmap as a milestone of kind ``release`` on its date."""

    portfolio = BriefRelatedField(brief=PortfolioSerializer, visible_to=portfolios_visible_to)
    value_streams = BriefRelatedField(
        brief=ValueStreamSerializer,
        visible_to=value_streams_visible_to,
        many=True,
        help_text="Ids of the value streams it spans (at least one, of its portfolio).",
    )
    integration_points = BriefRelatedField(
        brief=IntegrationPointSerializer,
        visible_to=integration_points_visible_to,
        many=True,
        required=False,
        help_text="Ids of the integration points it is gated on; each integrates one of its value streams.",
    )
    readiness = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = (
            "id",
            "name",
            "date",
            "description",
            "portfolio",
            "value_streams",
            "integration_points",
            "readiness",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("version", "created_at", "updated_at")
        create_only_fields = ("portfolio",)
        brief_fields = ("id", "name", "date")
        validators = [
            UniqueWithin("name", within="portfolio", message='The portfolio already has a release named "{value}".'),
        ]

    @extend_schema_field(ReadinessSerializer)
    def get_readiness(self, release) -> dict:
        return ReadinessSerializer(release_readiness(release)).data


class ReleaseViewSet(
    VersionedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Releases of the portfolios you are a member of, by date, each with its readiness.
    Every member reads them; the portfolio's APMO manages any, the STE of a solution train
    those whose value streams are all of solution trains they engineer."""

    serializer_class = ReleaseSerializer
    filterset_class = ReleaseFilterSet
    permission_classes = [RulesPermission]
    read_permission = "portfolio.view_portfolio"
    write_permission = MANAGE_RELEASE
    ordering_fields = ["date", "name", "created_at"]

    def get_queryset(self):
        return with_gates(releases_visible_to(self.request.user)).order_by("date", "name")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        portfolio = data.pop("portfolio")
        if not self.request.user.has_perm(ADD_RELEASE, portfolio):
            self.permission_denied(self.request, message=f"Only {WHO_MAY} may create a release.")
        release = release_create(actor=self.request.user, portfolio=portfolio, **data)
        serializer.instance = reread(self, release)

    def perform_update(self, serializer):
        try:
            release = release_update(
                actor=self.request.user,
                release=serializer.instance,
                expected_version=self.expected_version(),
                **serializer.validated_data,
            )
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None
        serializer.instance = reread(self, release)

    def perform_destroy(self, instance):
        try:
            release_delete(actor=self.request.user, release=instance, expected_version=self.expected_version())
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None


def register_release_routes(router) -> None:
    """Put /releases/ on the project's /api/v1/ router."""
    router.register("releases", ReleaseViewSet, basename="release")
