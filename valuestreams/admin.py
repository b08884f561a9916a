"""Admin for value streams, trains and teams, the work they carry, status reports and
dependencies. Features and dependencies run to tens of thousands of rows, so every
foreign key to them (and to users, PIs and iterations) is an autocomplete."""

from django.contrib import admin
from django.utils import timezone

from cadence.admin import VersionedAdmin

from .models import Capability, Dependency, DependencyEvent, Feature, StatusReport, Team, Train, ValueStream
from .services import latest_status_report


@admin.register(ValueStream)
class ValueStreamAdmin(VersionedAdmin):
    list_display = ("name", "key", "portfolio", "cadence")
    list_filter = ("portfolio",)
    list_select_related = ("portfolio", "cadence")
    search_fields = ("name", "key")
    ordering = ("portfolio__name", "name")
    autocomplete_fields = ("portfolio", "cadence", "epics")


@admin.register(Train)
class TrainAdmin(VersionedAdmin):
    list_display = ("name", "key", "kind", "value_stream", "solution_train", "engineer", "cadence")
    list_filter = ("kind", "value_stream__portfolio", "value_stream")
    list_select_related = ("value_stream", "solution_train", "engineer", "cadence")
    search_fields = ("name", "key", "engineer__username")
    ordering = ("value_stream__name", "-kind", "name")
    autocomplete_fields = ("value_stream", "solution_train", "engineer", "cadence")


@admin.register(Team)
class TeamAdmin(VersionedAdmin):
    list_display = ("name", "kind", "train", "portfolio")
    list_filter = ("portfolio", "kind")
    list_select_related = ("train", "portfolio")
    search_fields = ("name", "train__name")
    ordering = ("portfolio__name", "name")
    autocomplete_fields = ("portfolio", "train", "serves")


@admin.register(StatusReport)
class StatusReportAdmin(admin.ModelAdmin):
    """Reports are never edited (each update is a new row), so a stored one is view-only.
    A report added here is written by the signed-in user on top of the train's latest."""

    list_display = ("train", "created_at", "health", "pi_confidence", "author")
    list_filter = ("health", "pi_confidence", "train__value_stream__portfolio")
    list_select_related = ("train", "author")
    search_fields = ("train__name", "train__key", "summary")
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    fields = ("train", "health", "pi_confidence", "summary", "risks", "blockers", "author", "created_at", "based_on")
    readonly_fields = ("author", "created_at", "based_on")
    autocomplete_fields = ("train",)

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.author = request.user
        obj.created_at = timezone.now()
        obj.based_on = latest_status_report(obj.train)
        super().save_model(request, obj, form, change)


@admin.register(Capability)
class CapabilityAdmin(VersionedAdmin):
    list_display = ("key", "name", "train", "epic", "program_increment", "commitment", "state")
    list_filter = ("state", "commitment", "program_increment", "train__value_stream__portfolio")
    list_select_related = ("train", "epic", "program_increment")
    search_fields = ("key", "name", "epic__key")
    ordering = ("key",)
    autocomplete_fields = ("train", "epic", "program_increment")


@admin.register(Feature)
class FeatureAdmin(VersionedAdmin):
    list_display = (
        "key",
        "name",
        "train",
        "capability",
        "epic",
        "program_increment",
        "iteration",
        "commitment",
        "state",
        "done_on",
    )
    list_filter = ("state", "commitment", "program_increment", "train__value_stream__portfolio", "train")
    list_select_related = ("train", "capability", "epic", "program_increment", "iteration__program_increment")
    search_fields = ("key", "name", "train__name", "epic__key")
    ordering = ("key",)
    autocomplete_fields = ("train", "capability", "epic", "program_increment", "iteration")


class DependencyEventInline(admin.TabularInline):
    model = DependencyEvent
    fields = ("at", "action", "actor", "from_state", "to_state", "flag", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Dependency)
class DependencyAdmin(VersionedAdmin):
    """Dependencies move through their workflow on the dependency pages, which record
    each step as an event; here the workflow fields are shown, not edited."""

    list_display = (
        "key",
        "title",
        "consumer",
        "provider",
        "needed_by_pi",
        "needed_by_iteration",
        "committed_iteration",
        "state",
        "flag",
    )
    list_filter = ("portfolio", "state", "flag", "needed_by_pi", "consumer", "provider")
    list_select_related = (
        "consumer",
        "provider",
        "needed_by_pi",
        "needed_by_iteration__program_increment",
        "committed_iteration__program_increment",
    )
    search_fields = ("key", "title", "consumer__name", "provider__name")
    ordering = ("needed_by_pi__start_date", "key")
    autocomplete_fields = (
        "portfolio",
        "consumer",
        "provider",
        "needed_by_pi",
        "needed_by_iteration",
        "consumer_feature",
        "provider_feature",
        "epic",
        "raised_by",
    )
    readonly_fields = ("state", "flag", "flag_reason", "committed_pi", "committed_iteration", "delivered_on")
    fieldsets = (
        (None, {"fields": ("portfolio", "key", "title", "description", "epic", "raised_by")}),
        ("Consumer", {"fields": ("consumer", "consumer_feature", "needed_by_pi", "needed_by_iteration")}),
        (
            "Provider",
            {"fields": ("provider", "provider_feature", "committed_pi", "committed_iteration", "delivered_on")},
        ),
        ("Workflow", {"fields": ("state", "flag", "flag_reason")}),
    )
    inlines = (DependencyEventInline,)

    def get_changeform_initial_data(self, request):
        return {"raised_by": request.user.pk, **super().get_changeform_initial_data(request)}


@admin.register(DependencyEvent)
class DependencyEventAdmin(admin.ModelAdmin):
    """The workflow log of dependencies: written by the workflow, read here."""

    list_display = ("dependency", "at", "action", "actor", "from_state", "to_state", "flag")
    list_filter = ("action", "to_state", "dependency__portfolio")
    list_select_related = ("dependency", "actor")
    search_fields = ("dependency__key", "dependency__title", "reason", "actor__username")
    ordering = ("-at", "-id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
