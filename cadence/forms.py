"""Forms of the cadence pages. They check the input's shape; the services decide
whether the change fits with the other PIs, iterations and events.

Each edit form carries the version of the row it was loaded at (hidden), so an edit
made on a stale page is refused instead of overwriting someone else's change.
"""

from django import forms
from django.core.exceptions import ValidationError

from .models import CadenceEventKind
from .services import MAX_PIS_PER_GENERATION


def date_field(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **kwargs)


class VersionedForm(forms.Form):
    """An edit of one row: ``initial`` comes from the row, ``version`` is its version."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    fields_from_instance: tuple[str, ...] = ()

    def __init__(self, *args, instance, **kwargs):
        self.instance = instance
        kwargs.setdefault(
            "initial", {name: getattr(instance, name) for name in (*self.fields_from_instance, "version")}
        )
        super().__init__(*args, **kwargs)

    def add_service_error(self, error: ValidationError) -> None:
        """A service's ValidationError, each message on its field if the form has one."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)

    @property
    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields_from_instance}


class CadenceForm(VersionedForm):
    fields_from_instance = (
        "name",
        "start_date",
        "iterations_per_pi",
        "iteration_length_days",
        "has_ip_iteration",
        "intake_cutoff_days",
    )

    name = forms.CharField(max_length=120)
    start_date = date_field("First day of the first PI")
    iterations_per_pi = forms.IntegerField(label="Iterations per PI", min_value=1, max_value=12)
    iteration_length_days = forms.IntegerField(label="Iteration length (days)", min_value=5, max_value=35)
    has_ip_iteration = forms.BooleanField(
        label="The last iteration of each PI is an Innovation & Planning (IP) iteration", required=False
    )
    intake_cutoff_days = forms.IntegerField(
        label="Intake cutoff (days before PI planning)",
        min_value=0,
        max_value=365,
        help_text="Epics targeting a PI must be ready this many days before its PI planning.",
    )

    def __init__(self, *args, has_program_increments: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if has_program_increments:
            self.fields["start_date"].disabled = True
            self.fields["start_date"].help_text = "Fixed once the cadence has PIs: move their dates instead."


class ProgramIncrementForm(VersionedForm):
    fields_from_instance = ("name", "start_date", "end_date", "planning_date", "intake_cutoff")

    name = forms.CharField(max_length=60)
    start_date = date_field("First day")
    end_date = date_field("Last day")
    planning_date = date_field("PI planning", help_text="The first day of PI planning.")
    intake_cutoff = date_field(
        "Intake cutoff", help_text="Epics targeting this PI must be ready by this day; not after PI planning."
    )
    move_contents = forms.BooleanField(
        label="Move its iterations and events (and PI planning, intake cutoff) with a new first day",
        required=False,
        initial=True,
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "A PI must end after it starts.")
        return cleaned


class IterationForm(VersionedForm):
    fields_from_instance = ("start_date", "end_date", "is_innovation_planning")

    start_date = date_field("First day")
    end_date = date_field("Last day")
    is_innovation_planning = forms.BooleanField(label="Innovation & Planning (IP) iteration", required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "An iteration must end after it starts.")
        return cleaned


class CadenceEventForm(VersionedForm):
    fields_from_instance = ("name", "kind", "start_date", "end_date")

    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=CadenceEventKind.choices)
    start_date = date_field("First day")
    end_date = date_field("Last day", help_text="The same as the first day for a one-day event.")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "An event cannot end before it starts.")
        return cleaned


class GenerateForm(forms.Form):
    """Extend a cadence. ``after_number`` is the last PI number the page showed, so a
    form sent twice extends the cadence once."""

    count = forms.IntegerField(label="PIs to add", min_value=1, max_value=MAX_PIS_PER_GENERATION, initial=4)
    after_number = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
