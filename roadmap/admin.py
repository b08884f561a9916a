"""Admin for roadmap milestones."""

from django.contrib import admin

from cadence.admin import VersionedAdmin

from .models import Milestone


@admin.register(Milestone)
class MilestoneAdmin(VersionedAdmin):
    list_display = ("name", "date", "kind", "portfolio", "train", "program_increment", "release")
    list_filter = ("portfolio", "kind", "program_increment")
    list_select_related = ("portfolio", "train", "program_increment", "release")
    search_fields = ("name", "description", "train__name")
    ordering = ("date", "name")
    date_hierarchy = "date"
    autocomplete_fields = ("portfolio", "train", "program_increment", "release")
