"""Admin for the portfolio level: portfolios with their members and WIP limits,
strategic themes and epics."""

from django.contrib import admin
from django.utils import timezone

from cadence.admin import VersionedAdmin

from .models import WIP_LIMITED_STATES, Epic, EpicDeferral, Membership, Portfolio, StrategicTheme, WipLimit


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class WipLimitInline(admin.TabularInline):
    model = WipLimit
    fields = ("state", "limit")
    extra = 0
    max_num = len(WIP_LIMITED_STATES)


@admin.register(Portfolio)
class PortfolioAdmin(VersionedAdmin):
    list_display = ("name", "slug", "cadence", "terminology", "status_stale_days")
    list_filter = ("terminology", "cadence")
    list_select_related = ("cadence",)
    search_fields = ("name", "slug")
    ordering = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (WipLimitInline, MembershipInline)


@admin.register(Membership)
class MembershipAdmin(VersionedAdmin):
    list_display = ("user", "portfolio", "role")
    list_filter = ("portfolio", "role")
    list_select_related = ("user", "portfolio")
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name", "portfolio__name")
    ordering = ("portfolio__name", "user__username")
    autocomplete_fields = ("user", "portfolio")


@admin.register(StrategicTheme)
class StrategicThemeAdmin(VersionedAdmin):
    list_display = ("name", "portfolio")
    list_filter = ("portfolio",)
    list_select_related = ("portfolio",)
    search_fields = ("name", "description")
    ordering = ("portfolio__name", "name")


@admin.register(WipLimit)
class WipLimitAdmin(VersionedAdmin):
    list_display = ("portfolio", "state", "limit")
    list_filter = ("portfolio", "state")
    list_select_related = ("portfolio",)
    search_fields = ("portfolio__name",)
    ordering = ("portfolio__name", "state")


@admin.register(Epic)
class EpicAdmin(VersionedAdmin):
    list_display = ("key", "title", "state", "kind", "wsjf_rounded", "target_pi", "owner", "portfolio")
    list_filter = ("portfolio", "state", "kind", "target_pi")
    list_select_related = ("target_pi", "owner", "portfolio")
    search_fields = ("key", "title", "owner__username")
    ordering = ("portfolio__name", "-wsjf", "key")
    autocomplete_fields = ("portfolio", "owner", "target_pi", "themes")
    readonly_fields = ("wsjf", "state_changed_at")
    fieldsets = (
        (None, {"fields": ("portfolio", "key", "title", "kind", "owner", "themes", "description", "mvp_hypothesis")}),
        ("Kanban", {"fields": ("state", "state_changed_at", "target_pi")}),
        ("WSJF", {"fields": ("business_value", "time_criticality", "risk_reduction", "job_size", "wsjf")}),
    )

    @admin.display(description="WSJF", ordering="wsjf")
    def wsjf_rounded(self, obj):
        return f"{obj.wsjf:.2f}"

    def save_model(self, request, obj, form, change):
        # The Kanban measures time in a column from state_changed_at; a move made here counts too.
        if not change or "state" in form.changed_data:
            obj.state_changed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(EpicDeferral)
class EpicDeferralAdmin(admin.ModelAdmin):
    """Epics deferred by cadence-gated intake: written by the daily intake task, read here."""

    list_display = ("epic", "from_pi", "to_pi", "cutoff", "deferred_at", "notified_at")
    list_filter = ("epic__portfolio", "from_pi")
    list_select_related = ("epic", "from_pi", "to_pi")
    search_fields = ("epic__key", "epic__title", "reason")
    ordering = ("-deferred_at", "-id")
    date_hierarchy = "deferred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
