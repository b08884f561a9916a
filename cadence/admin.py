"""Admin for the cadence, and the base every versioned model's admin builds on.

``VersionedAdmin`` lives here because ``cadence`` is the lowest app: every other app's
admin may import it without breaking the layering.
"""

from django import forms
from django.contrib import admin
from django.db import router, transaction
from simple_history.admin import SimpleHistoryAdmin

from portfolio.core.models import VersionedModel

from .models import Cadence, CadenceEvent, CalendarFeedToken, Iteration, ProgramIncrement

RECORD_FIELDS = ("version", "created_at", "updated_at")


class VersionedModelForm(forms.ModelForm):
    """An admin form that refuses to overwrite a row changed since the form was shown.

    The form carries the version it was shown at in a hidden field. ``clean`` reads the
    stored version under a row lock (the admin runs the whole request in a transaction),
    so the check and the save cannot interleave with another writer.
    """

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_version = None
        if self.instance.pk and not self.is_bound:
            # Read from the table, not the instance: a revert from the history page
            # starts from an old historical copy whose version is out of date.
            self.fields["loaded_version"].initial = self._stored_version_query().first()

    def _stored_version_query(self):
        return type(self.instance)._default_manager.filter(pk=self.instance.pk).values_list("version", flat=True)

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk:
            self.stored_version = self._stored_version_query().select_for_update().first()
            loaded = cleaned_data.get("loaded_version")
            if loaded is not None and self.stored_version is not None and loaded != self.stored_version:
                raise forms.ValidationError(
                    "Someone else changed this %(name)s after you opened it (now version %(version)s). "
                    "Reload the page to see their change, then make yours again.",
                    code="stale_version",
                    params={"name": self.instance._meta.verbose_name, "version": self.stored_version},
                )
        return cleaned_data


class VersionedAdmin(SimpleHistoryAdmin):
    """Admin for a ``VersionedModel`` with history: the record fields are read-only and
    shown last, each save moves the version on (so stale pages and API clients are
    refused), and the History button lists who changed what."""

    form = VersionedModelForm

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly + tuple(f for f in RECORD_FIELDS if f not in readonly)

    def get_fieldsets(self, request, obj=None):
        hidden = {*RECORD_FIELDS, "loaded_version"}
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Record", {"classes": ["collapse"], "fields": [*RECORD_FIELDS, "loaded_version"]})]

    def save_model(self, request, obj, form, change):
        if change:
            stored = getattr(form, "stored_version", None)
            obj.version = (stored if stored is not None else obj.version) + 1
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # Inline rows are versioned too: an edit made here must move their version on.
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj, _changed_fields in formset.changed_objects:
            if isinstance(obj, VersionedModel):
                obj.version += 1
            obj.save()
        for obj in formset.new_objects:
            obj.save()
        formset.save_m2m()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A revert saves through the same form, whose version check needs a transaction.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)


class ProgramIncrementInline(admin.TabularInline):
    model = ProgramIncrement
    fields = ("number", "name", "start_date", "end_date", "planning_date", "intake_cutoff")
    extra = 0
    show_change_link = True


@admin.register(Cadence)
class CadenceAdmin(VersionedAdmin):
    list_display = (
        "name",
        "start_date",
        "iterations_per_pi",
        "iteration_length_days",
        "pi_length",
        "has_ip_iteration",
        "intake_cutoff_days",
    )
    list_filter = ("has_ip_iteration",)
    search_fields = ("name",)
    ordering = ("name",)
    inlines = (ProgramIncrementInline,)

    @admin.display(description="PI length (days)")
    def pi_length(self, obj):
        return obj.pi_length_days


class IterationInline(admin.TabularInline):
    model = Iteration
    fields = ("number", "start_date", "end_date", "is_innovation_planning")
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("program_increment")


@admin.register(ProgramIncrement)
class ProgramIncrementAdmin(VersionedAdmin):
    list_display = ("name", "number", "cadence", "start_date", "end_date", "planning_date", "intake_cutoff")
    list_filter = ("cadence",)
    list_select_related = ("cadence",)
    search_fields = ("name", "cadence__name")
    ordering = ("cadence__name", "start_date")
    date_hierarchy = "start_date"
    inlines = (IterationInline,)


@admin.register(Iteration)
class IterationAdmin(VersionedAdmin):
    list_display = ("__str__", "program_increment", "number", "start_date", "end_date", "is_innovation_planning")
    list_filter = ("program_increment__cadence", "is_innovation_planning")
    list_select_related = ("program_increment",)
    search_fields = ("program_increment__name", "program_increment__cadence__name")
    ordering = ("program_increment__cadence__name", "start_date")
    autocomplete_fields = ("program_increment",)

    def get_queryset(self, request):
        # An iteration's name includes its PI's: the autocomplete widgets list them too.
        return super().get_queryset(request).select_related("program_increment")


@admin.register(CadenceEvent)
class CadenceEventAdmin(VersionedAdmin):
    list_display = ("name", "kind", "program_increment", "iteration", "start_date", "end_date")
    list_filter = ("kind", "program_increment__cadence", "program_increment")
    list_select_related = ("program_increment", "iteration__program_increment")
    search_fields = ("name", "program_increment__name")
    ordering = ("start_date", "kind")
    date_hierarchy = "start_date"
    autocomplete_fields = ("program_increment", "iteration")


@admin.register(CalendarFeedToken)
class CalendarFeedTokenAdmin(admin.ModelAdmin):
    """Who has a calendar feed address and when they last reset it. The token is a secret
    and is not shown; deleting a row stops that person's feed URLs (a new token is made
    when they next open the PI calendar)."""

    list_display = ("user", "created_at", "reset_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "created_at", "reset_at")
    readonly_fields = ("created_at", "reset_at")
    raw_id_fields = ("user",)
