"""Admin for integration points and their acceptance criteria, check runs, results and
releases. Check runs and results record what happened, so stored ones are view-only;
results may still be added by hand (a person records a pass or fail)."""

from django.contrib import admin
from django.db import models

from cadence.admin import VersionedAdmin

from . import releases
from .models import (
    AcceptanceCriterion,
    IntegrationCheckRun,
    IntegrationEconomics,
    IntegrationOutcomeChange,
    IntegrationPoint,
    IntegrationResult,
    Release,
)


class AcceptanceCriterionInline(admin.TabularInline):
    model = AcceptanceCriterion
    fields = ("position", "text", "met")
    extra = 1


@admin.register(IntegrationPoint)
class IntegrationPointAdmin(VersionedAdmin):
    list_display = (
        "name",
        "date",
        "portfolio",
        "program_increment",
        "depth",
        "solution_train",
        "outcome",
        "last_checked_at",
    )
    list_filter = ("portfolio", "depth", "outcome", "program_increment")
    list_select_related = ("portfolio", "program_increment", "solution_train")
    search_fields = ("name",)
    ordering = ("date", "name")
    date_hierarchy = "date"
    autocomplete_fields = (
        "portfolio",
        "program_increment",
        "solution_train",
        "value_streams",
        "trains",
        "dependencies",
        "features",
    )
    # Set by the scheduled checks and recorded results, not by hand.
    readonly_fields = ("outcome", "last_checked_at")
    fieldsets = (
        (None, {"fields": ("portfolio", "name", "date", "program_increment", "depth", "solution_train")}),
        ("What it integrates", {"fields": ("value_streams", "trains", "dependencies", "features")}),
        ("Latest check", {"fields": ("outcome", "last_checked_at")}),
    )
    inlines = (AcceptanceCriterionInline,)


@admin.register(AcceptanceCriterion)
class AcceptanceCriterionAdmin(VersionedAdmin):
    list_display = ("text", "integration_point", "met", "position")
    list_filter = ("met", "integration_point__portfolio")
    list_select_related = ("integration_point",)
    search_fields = ("text", "integration_point__name")
    ordering = ("integration_point__date", "integration_point__name", "position", "id")
    autocomplete_fields = ("integration_point",)


@admin.register(IntegrationCheckRun)
class IntegrationCheckRunAdmin(admin.ModelAdmin):
    list_display = ("integration_point", "window_start", "ran_at", "outcome")
    list_filter = ("outcome", "integration_point__portfolio")
    list_select_related = ("integration_point",)
    search_fields = ("integration_point__name",)
    ordering = ("-window_start", "integration_point__name")
    date_hierarchy = "window_start"
    readonly_fields = ("integration_point", "window_start", "ran_at", "outcome", "findings")

    # Runs are written by the scheduled checks, one per check window; here they are read.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IntegrationOutcomeChange)
class IntegrationOutcomeChangeAdmin(admin.ModelAdmin):
    list_display = ("integration_point", "from_outcome", "to_outcome", "changed_at", "notified_at")
    list_filter = ("to_outcome", "integration_point__portfolio")
    list_select_related = ("integration_point",)
    search_fields = ("integration_point__name",)
    ordering = ("-changed_at", "-id")
    date_hierarchy = "changed_at"
    readonly_fields = (
        "integration_point",
        "from_outcome",
        "to_outcome",
        "changed_at",
        "check_run",
        "result",
        "notified_at",
    )

    # Recorded by the checks and by results, the audit trail of outcomes: read only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IntegrationResult)
class IntegrationResultAdmin(admin.ModelAdmin):
    list_display = ("integration_point", "verdict", "recorded_at", "recorded_by", "source_url")
    list_filter = ("verdict", "integration_point__portfolio")
    list_select_related = ("integration_point", "recorded_by")
    search_fields = ("integration_point__name", "notes", "idempotency_key")
    ordering = ("-recorded_at", "-id")
    date_hierarchy = "recorded_at"
    autocomplete_fields = ("integration_point", "recorded_by")
    readonly_fields = ("recorded_at",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_change_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        return {"recorded_by": request.user.pk, **super().get_changeform_initial_data(request)}


@admin.register(Release)
class ReleaseAdmin(VersionedAdmin):
    list_display = ("name", "date", "portfolio")
    list_filter = ("portfolio",)
    list_select_related = ("portfolio",)
    search_fields = ("name", "description")
    ordering = ("date", "name")
    date_hierarchy = "date"
    autocomplete_fields = ("portfolio", "value_streams", "integration_points")

    def save_model(self, request, obj, form, change):
        # The release's milestone on the portfolio roadmap follows it, as from its own pages.
        super().save_model(request, obj, form, change)
        releases.sync_milestone(obj)


@admin.register(IntegrationEconomics)
class IntegrationEconomicsAdmin(VersionedAdmin):
    """The cost figures behind a value stream's integration cadence U-curve (APMO sets
    them on /integration/economics/<value stream>/)."""

    list_display = ("value_stream", "transaction_cost", "holding_cost_per_day", "unit", "updated_by", "updated_at")
    list_select_related = ("value_stream", "updated_by")
    search_fields = ("value_stream__name", "value_stream__key")
    autocomplete_fields = ("value_stream", "updated_by")
