"""Forms of the roadmap pages: the portfolio roadmap's filters (shared with the CSV
export and the API), the window of a solution roadmap, and the edit forms of
capabilities, features and milestones.

The edit forms check the input's shape and offer only the PIs of the train's cadence;
the services decide whether a change fits with the other rows. Each carries the version
of the row it was loaded at (hidden), so that an edit made on a stale page is refused
instead of overwriting someone else's change.
"""

from django import forms
from django.core.exceptions import ValidationError

from portfolio.models import EpicState
from valuestreams.models import Commitment, WorkState

from .models import MilestoneKind
from .selectors import PIColumn, RoadmapChoices, RoadmapFilters


def pi_label(column: PIColumn) -> str:
    return f"{column.name} ({column.start_date:%-d %b} – {column.end_date:%-d %b %Y})"


def _optional_id(label: str, choices, empty: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, required=False, coerce=int, empty_value=None, choices=[("", empty), *choices]
    )


class RoadmapFilterForm(forms.Form):
    """What the portfolio roadmap shows. Choices come from RoadmapChoices, loaded once
    for the form and the roadmap alike; anything else is an error on its field."""

    value_stream = forms.TypedChoiceField(required=False)
    theme = forms.TypedChoiceField(required=False)
    state = forms.ChoiceField(label="Epic state", required=False, choices=[("", "Any state"), *EpicState.choices])
    pi_from = forms.TypedChoiceField(required=False)
    pi_to = forms.TypedChoiceField(required=False)
    expand = forms.TypedMultipleChoiceField(required=False, coerce=int, widget=forms.MultipleHiddenInput)

    def __init__(self, data=None, *, choices: RoadmapChoices, **kwargs):
        super().__init__(data, **kwargs)
        value_streams = [(vs.pk, vs.name) for vs in choices.value_streams]
        pis = [(c.id, pi_label(c)) for c in choices.columns]
        self.fields["value_stream"] = _optional_id("Value stream", value_streams, "All value streams")
        self.fields["theme"] = _optional_id("Strategic theme", [(t.pk, t.name) for t in choices.themes], "Any theme")
        self.fields["pi_from"] = _optional_id("From PI", pis, "Current PI")
        self.fields["pi_to"] = _optional_id("To PI", pis, "Three after it")
        self.fields["expand"].choices = value_streams
        self.order = {c.id: i for i, c in enumerate(choices.columns)}

    def clean(self):
        data = super().clean()
        first, last = data.get("pi_from"), data.get("pi_to")
        if first is not None and last is not None and self.order[first] > self.order[last]:
            self.add_error("pi_to", "Choose a PI on or after the first one.")
        return data

    def filters(self) -> RoadmapFilters:
        """The filters chosen (call after is_valid); the default view if the form is invalid."""
        if not self.is_valid():
            return RoadmapFilters()
        data = self.cleaned_data
        return RoadmapFilters(
            value_stream_id=data.get("value_stream"),
            theme_id=data.get("theme"),
            state=data.get("state") or None,
            pi_from_id=data.get("pi_from"),
            pi_to_id=data.get("pi_to"),
            expand=frozenset(data.get("expand") or ()),
        )


class WindowForm(forms.Form):
    """The PIs a solution roadmap shows."""

    pi_from = forms.TypedChoiceField(required=False)
    pi_to = forms.TypedChoiceField(required=False)

    def __init__(self, data=None, *, columns: list[PIColumn], **kwargs):
        super().__init__(data, **kwargs)
        pis = [(c.id, pi_label(c)) for c in columns]
        self.fields["pi_from"] = _optional_id("From PI", pis, "Current PI")
        self.fields["pi_to"] = _optional_id("To PI", pis, "Three after it")

    def window(self) -> tuple[int | None, int | None]:
        if not self.is_valid():
            return None, None
        return self.cleaned_data.get("pi_from"), self.cleaned_data.get("pi_to")


# --- Edits ------------------------------------------------------------------------------


def date_field(label: str, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **kwargs)


class PIChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, pi) -> str:
        return f"{pi.name} ({pi.start_date:%-d %b} – {pi.end_date:%-d %b %Y})"


class IterationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, iteration) -> str:
        number = "IP" if iteration.is_innovation_planning else iteration.number
        return f"{iteration.program_increment.name} · I{number} ({iteration.start_date:%-d %b} – {iteration.end_date:%-d %b})"


class EpicChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, epic) -> str:
        return f"{epic.key} {epic.title}"


class RoadmapEditForm(forms.Form):
    """An edit of one row (``instance``) or a new one (``instance`` None): ``initial``
    comes from the row, ``version`` is its version. ``changes`` are the values of
    ``editable`` for the service."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    editable: tuple[str, ...] = ()

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", {name: getattr(instance, name) for name in (*self.editable, "version")})
        super().__init__(*args, **kwargs)

    def add_service_error(self, error: ValidationError) -> None:
        """A service's ValidationError, each message on its field if the form shows it."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            shown = name in self.fields and not self.fields[name].widget.is_hidden
            self.add_error(name if shown else None, errors)

    @property
    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.editable if name in self.cleaned_data}

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class CapabilityForm(RoadmapEditForm):
    """A capability: its name, epic and placement on a PI of the train's cadence."""

    editable = ("key", "name", "epic", "program_increment", "commitment", "state")

    key = forms.CharField(max_length=20)
    name = forms.CharField(max_length=200)
    epic = EpicChoiceField(queryset=None, required=False, empty_label="Not part of an epic")
    program_increment = PIChoiceField(queryset=None, required=False, label="PI", empty_label="Not placed yet")
    commitment = forms.ChoiceField(
        choices=Commitment.choices,
        widget=forms.RadioSelect,
        help_text="Committed only for the current PI; later PIs are forecast.",
    )
    state = forms.ChoiceField(choices=WorkState.choices)

    def __init__(self, *args, program_increments, epics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program_increment"].queryset = program_increments
        self.fields["epic"].queryset = epics
        self.initial.setdefault("commitment", Commitment.FORECAST)


class FeatureForm(RoadmapEditForm):
    """A feature's placement: PI, iteration and commitment."""

    editable = ("program_increment", "iteration", "commitment")

    program_increment = PIChoiceField(queryset=None, required=False, label="PI", empty_label="Not placed yet")
    iteration = IterationChoiceField(
        queryset=None,
        required=False,
        empty_label="No iteration yet",
        help_text="The iteration the train plans to finish it in: one of the PI's.",
    )
    commitment = forms.ChoiceField(
        choices=Commitment.choices,
        widget=forms.RadioSelect,
        help_text="Committed only for the current PI; later PIs are forecast.",
    )

    def __init__(self, *args, program_increments, iterations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program_increment"].queryset = program_increments
        self.fields["iteration"].queryset = iterations


class MilestoneForm(RoadmapEditForm):
    """A milestone: a fixed date, a PI event, a learning milestone or a release."""

    editable = ("name", "kind", "date", "program_increment", "release", "description")

    name = forms.CharField(max_length=160)
    kind = forms.ChoiceField(choices=MilestoneKind.choices)
    date = date_field("Date")
    program_increment = PIChoiceField(
        queryset=None,
        required=False,
        label="PI",
        empty_label="The PI its date falls in",
        help_text="Leave it to follow the date.",
    )
    release = forms.ModelChoiceField(queryset=None, required=False, empty_label="None")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, program_increments, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program_increment"].queryset = program_increments
        self.fields["release"].queryset = releases
        if self.instance is not None and "program_increment" in self.initial:
            # An edit keeps following the date unless a PI is chosen.
            self.initial["program_increment"] = None
