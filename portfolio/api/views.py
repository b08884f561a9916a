"""The API's base viewsets, and the portfolio level's endpoints: portfolios and memberships.

Every viewset's queryset starts from a visibility selector (objects of portfolios the
user is not a member of answer 404), chooses its joins up front (a list costs the same
few queries whatever its length), and leaves who may do what to ``RulesPermission``.
"""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import AnonRateThrottle

from portfolio.filters import MembershipFilterSet, PortfolioFilterSet
from portfolio.models import Membership, Role
from portfolio.permissions import visible_portfolio_ids
from portfolio.selectors import portfolios_visible_to
from valuestreams.models import Train, ValueStream

from .mixins import Conflict, RulesWriteMixin, VersionedMixin
from .permissions import RulesPermission
from .serializers import MembershipSerializer, PortfolioSerializer


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
