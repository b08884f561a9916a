"""The API's base viewsets, and the portfolio level's endpoints: portfolios, memberships,
epics (with their Kanban move) and the Kanban's WIP limits.

Every viewset's queryset starts from a visibility selector (objects of portfolios the
user is not a member of answer 404), chooses its joins up front (a list costs the same
few queries whatever its length), and leaves who may do what to ``RulesPermission``.
"""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from portfolio.core.concurrency import StaleVersion
from portfolio.filters import EpicFilterSet, MembershipFilterSet, PortfolioFilterSet, WipLimitFilterSet
from portfolio.models import Epic, EpicKind, Membership, Role, WipLimit
from portfolio.permissions import visible_portfolio_ids
from portfolio.selectors import epics_visible_to, portfolios_visible_to
from portfolio.services import WipLimitReached, epic_move
from valuestreams.models import Train, ValueStream

from .mixins import Conflict, RulesWriteMixin, VersionedMixin, reread
from .permissions import RulesPermission
from .schema import IF_MATCH
from .serializers import (
    EpicMoveSerializer,
    EpicSerializer,
    MembershipSerializer,
    PortfolioSerializer,
    WipLimitRefusalSerializer,
    WipLimitSerializer,
)


def count_of(related: QuerySet, fk: str) -> Coalesce:
    """An annotation counting ``related`` rows whose ``fk`` is the outer row (a subquery,
    so several counts do not multiply each other as joins would)."""
    counted = related.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class ReadUpdateViewSet(
    VersionedMixin,
    RulesWriteMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read and change (no create or delete)."""

    permission_classes = [RulesPermission]
    read_permission = "portfolio.view_portfolio"
    write_permission: str | None = None


class ModelViewSet(ReadUpdateViewSet, mixins.CreateModelMixin, mixins.DestroyModelMixin):
    """List, read, create, change and delete."""


class PortfolioViewSet(ReadUpdateViewSet):
    """The portfolios you are a member of. Their APMO may change the settings
    (description, terminology, status_stale_days)."""

    serializer_class = PortfolioSerializer
    filterset_class = PortfolioFilterSet
    write_permission = "portfolio.change_portfolio"
    ordering_fields = ["name", "slug"]

    def get_queryset(self):
        return portfolios_visible_to(self.request.user).annotate(
            value_stream_count=count_of(ValueStream.objects.all(), "portfolio"),
            train_count=count_of(Train.objects.all(), "value_stream__portfolio"),
            member_count=count_of(Membership.objects.all(), "portfolio"),
        )


class MembershipViewSet(ModelViewSet):
    """Who is in the portfolios you are a member of, and their role. Only the
    portfolio's APMO adds, changes or removes memberships."""

    serializer_class = MembershipSerializer
    filterset_class = MembershipFilterSet
    write_permission = "portfolio.manage_memberships"
    write_parent = "portfolio"
    ordering_fields = ["user__username", "role", "created_at"]

    def get_queryset(self):
        return Membership.objects.filter(portfolio_id__in=visible_portfolio_ids(self.request.user)).select_related(
            "user", "portfolio"
        )

    def perform_destroy(self, membership):
        if (
            membership.role == Role.APMO
            and not Membership.objects.filter(portfolio_id=membership.portfolio_id, role=Role.APMO)
            .exclude(pk=membership.pk)
            .exists()
        ):
            raise Conflict("The portfolio's last APMO cannot be removed: name another APMO first.")
        super().perform_destroy(membership)


class TokenRequestThrottle(AnonRateThrottle):
    """Slows password guessing on the token endpoint (per client address)."""

    rate = "20/minute"


@extend_schema(tags=["auth"])
class AuthTokenView(ObtainAuthToken):
    """Exchange a username and password for the user's API token; send it as
    ``Authorization: Token <token>``. Automation uses a service user's token."""

    throttle_classes = [TokenRequestThrottle]


class EpicViewSet(ReadUpdateViewSet, mixins.CreateModelMixin):
    """Epics of the portfolios you are a member of, highest WSJF first; filter them as the
    Kanban does. Portfolio managers create and edit epics, enterprise architects enabler
    epics only. An epic changes column only through ``move``, which enforces WIP limits."""

    serializer_class = EpicSerializer
    filterset_class = EpicFilterSet
    write_parent = "portfolio"
    ordering_fields = ["wsjf", "key", "state", "state_changed_at", "created_at"]
    etag_actions = (*ReadUpdateViewSet.etag_actions, "move")

    @property
    def write_permission(self) -> str:
        return {"create": "portfolio.add_epic", "move": "portfolio.move_epic"}.get(self.action, "portfolio.change_epic")

    def get_queryset(self):
        return (
            epics_visible_to(self.request.user)
            .select_related("portfolio", "owner", "target_pi")
            .prefetch_related("themes", "value_streams")
        )

    def _check_kind(self, portfolio, kind) -> None:
        # Enterprise architects may only work on enablers: the kind the epic will have counts.
        if not self.request.user.has_perm("portfolio.change_epic", Epic(portfolio=portfolio, kind=kind)):
            self.permission_denied(self.request, message="Enterprise architects create and edit enabler epics only.")

    def perform_create(self, serializer):
        self.check_create_permission(serializer)
        self._check_kind(
            serializer.validated_data["portfolio"], serializer.validated_data.get("kind", EpicKind.BUSINESS)
        )
        super().perform_create(serializer)

    def perform_update(self, serializer):
        kind = serializer.validated_data.get("kind")
        if kind is not None and kind != serializer.instance.kind:
            self._check_kind(serializer.instance.portfolio, kind)
        super().perform_update(serializer)

    @extend_schema(
        request=EpicMoveSerializer,
        parameters=[IF_MATCH],
        responses={
            200: EpicSerializer,
            400: OpenApiResponse(description="No such column, or the epic is already in it."),
            403: OpenApiResponse(description="Your role may not move this epic."),
            409: OpenApiResponse(WipLimitRefusalSerializer, description="The column is at its WIP limit."),
            412: OpenApiResponse(description="The epic changed since the version given (its current state is sent)."),
        },
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the epic to another Kanban column. Refused with 409 when the column is at
        its WIP limit (there is no override), 403 unless you are a portfolio manager (or an
        enterprise architect moving an enabler), 412 when ``version`` (or If-Match) is stale."""
        epic = self.get_object()
        body = EpicMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = body.validated_data.get("version", self.expected_version())
        try:
            moved = epic_move(
                actor=request.user, epic=epic, to_state=body.validated_data["state"], expected_version=expected
            )
        except WipLimitReached as refusal:
            data = {"detail": str(refusal), "state": refusal.state, "limit": refusal.limit, "count": refusal.count}
            return Response(data, status=status.HTTP_409_CONFLICT)
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None
        return Response(self.get_serializer(reread(self, moved)).data)


class WipLimitViewSet(ReadUpdateViewSet, mixins.CreateModelMixin):
    """WIP limits of the epic Kanbans of your portfolios, with each column's current count.
    Every member reads them; portfolio managers set them."""

    serializer_class = WipLimitSerializer
    filterset_class = WipLimitFilterSet
    write_permission = "portfolio.change_wiplimit"
    write_parent = "portfolio"
    ordering_fields = ["state", "limit"]

    def get_queryset(self):
        in_column = (
            Epic.objects.filter(portfolio=OuterRef("portfolio"), state=OuterRef("state"))
            .order_by()
            .values("portfolio")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            WipLimit.objects.filter(portfolio_id__in=visible_portfolio_ids(self.request.user))
            .select_related("portfolio")
            .annotate(epic_count=Coalesce(Subquery(in_column, output_field=IntegerField()), Value(0)))
        )
