"""Forms of the integration pages. They validate input and offer the choices a page may
show; the services decide who may do what and keep the rows consistent.

The point form offers required dependencies and features only among the trains taking
part (and in the chosen PI): a large portfolio has thousands of each. "Show their
dependencies and features" reloads the form for the trains and PI ticked.
"""

from django import forms

from valuestreams.forms import pi_label
from valuestreams.models import Dependency, Feature, Train, ValueStream
from valuestreams.selectors import program_increments_in

from . import selectors
from .models import Depth, IntegrationPoint, IntegrationResult, ResultVerdict
from .services import CriterionInput, criteria_from_lines


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids


def _train_label(train) -> str:
    return f"{train.name} ({train.value_stream.name})"


class IntegrationPointForm(forms.ModelForm):
    """Create or edit a point. ``solution_trains`` are those the user may give it to
    (APMO: any, or none; an STE: their own). Editing carries the version it was loaded
    at, so a change made meanwhile is refused instead of overwritten."""

    criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Acceptance criteria",
        help_text="One per line. A criterion keeps its tick while its text stays the same.",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = IntegrationPoint
        fields = [
            "name",
            "date",
            "program_increment",
            "depth",
            "solution_train",
            "value_streams",
            "trains",
            "dependencies",
            "features",
        ]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "depth": forms.RadioSelect,
            "value_streams": forms.CheckboxSelectMultiple,
            "trains": forms.CheckboxSelectMultiple,
            "dependencies": forms.CheckboxSelectMultiple,
            "features": forms.CheckboxSelectMultiple,
        }
        labels = {
            "program_increment": "PI",
            "solution_train": "Solution train",
            "trains": "Trains taking part",
            "value_streams": "Value streams taking part",
            "dependencies": "Required dependencies",
            "features": "Required features",
        }
        help_texts = {
            "name": "Unique in the portfolio, e.g. “PI 26.5 · I3 Payments + Card Issuing”.",
            "date": "The day the work is integrated and shown working.",
            "depth": "Partial: some of the trains' work; full: the whole solution.",
            "solution_train": "Its STE manages the point; without one, only APMO does.",
            "dependencies": "Dependencies between two of the trains taking part, needed by the PI: each must be "
            "delivered in time.",
            "features": "Features of the trains taking part planned in the PI: each must be done in time.",
        }

    def __init__(self, *args, portfolio, solution_trains, **kwargs):
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        editing = self.instance.pk is not None
        if editing:
            self.fields["version"].initial = self.instance.version
            self.fields["criteria"].initial = "\n".join(c.text for c in self.instance.criteria.all())
        else:
            del self.fields["version"]
        self.fields["depth"].choices = Depth.choices

        pis = list(program_increments_in([portfolio.pk]).order_by("start_date"))
        several = len({pi.cadence_id for pi in pis}) > 1
        self.fields["program_increment"].queryset = program_increments_in([portfolio.pk])
        self.fields["program_increment"].choices = [("", "Choose a PI")] + [
            (pi.pk, pi_label(pi) + (f" · {pi.cadence.name}" if several else "")) for pi in pis
        ]

        solution_trains = list(solution_trains)
        may_leave_empty = None in solution_trains
        owned = [t for t in solution_trains if t is not None]
        field = self.fields["solution_train"]
        field.queryset = Train.objects.filter(pk__in=[t.pk for t in owned])
        field.required = not may_leave_empty
        field.choices = ([("", "None: APMO manages it")] if may_leave_empty else []) + [
            (t.pk, f"{t.name} (STE: {t.engineer.get_full_name() or t.engineer.username if t.engineer else 'none'})")
            for t in owned
        ]

        self.fields["value_streams"].queryset = ValueStream.objects.filter(portfolio=portfolio).order_by("name")
        trains = list(
            Train.objects.filter(value_stream__portfolio=portfolio)
            .select_related("value_stream")
            .order_by("value_stream__name", "-kind", "name")
        )
        self.fields["trains"].queryset = Train.objects.filter(value_stream__portfolio=portfolio)
        grouped: dict[str, list] = {}
        for train in trains:
            grouped.setdefault(train.value_stream.name, []).append(
                (train.pk, f"{train.name}{' (solution train)' if train.is_solution_train else ''}")
            )
        self.fields["trains"].choices = list(grouped.items())
        self._set_requirement_choices()

    def _chosen(self, name):
        if self.is_bound:
            return (
                self.data.getlist(self.add_prefix(name)) if hasattr(self.data, "getlist") else self.data.get(name, [])
            )
        if name in self.initial:
            value = self.initial[name]
            return [getattr(v, "pk", v) for v in value] if isinstance(value, list | tuple) else value
        if self.instance.pk is not None:
            if name == "program_increment":
                return self.instance.program_increment_id
            return [obj.pk for obj in getattr(self.instance, name).all()]
        return []

    def _set_requirement_choices(self) -> None:
        """Dependencies and features among the trains chosen, in the PI chosen, and those
        already required: three queries."""
        train_ids = _ids(self._chosen("trains"))
        pi_ids = _ids([self._chosen("program_increment")]) if self._chosen("program_increment") else []
        pi = pi_ids[0] if pi_ids else None
        keep_dependencies = _ids(self._chosen("dependencies"))
        keep_features = _ids(self._chosen("features"))
        dependencies = list(
            selectors.dependency_choices(
                portfolio=self.portfolio,
                train_ids=train_ids,
                program_increment=pi,
                keep_ids=keep_dependencies,
            )
        )
        field = self.fields["dependencies"]
        field.queryset = Dependency.objects.filter(pk__in=[d.pk for d in dependencies])
        field.choices = [
            (d.pk, f"{d.key} {d.title} — {d.provider.name} → {d.consumer.name} ({d.get_state_display().lower()})")
            for d in dependencies
        ]
        features = list(
            selectors.feature_choices(train_ids=train_ids, program_increment=pi, keep_ids=keep_features).filter(
                train__value_stream__portfolio=self.portfolio
            )
        )
        grouped: dict[str, list] = {}
        for feature in features:
            grouped.setdefault(feature.train.name, []).append(
                (feature.pk, f"{feature.key} {feature.name} ({feature.get_state_display().lower()})")
            )
        field = self.fields["features"]
        field.queryset = Feature.objects.filter(pk__in=[f.pk for f in features])
        field.choices = list(grouped.items())
        self.requirements_for = {"trains": len(train_ids), "pi": pi}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = IntegrationPoint.objects.filter(portfolio=self.portfolio, name=name)
        if self.instance.pk is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"{self.portfolio} already has an integration point named “{name}”.")
        return name

    def _post_clean(self):
        # The service validates the row (and knows who may write it).
        pass

    def criteria_input(self) -> list[CriterionInput]:
        return criteria_from_lines(self.cleaned_data.get("criteria", ""))

    def service_arguments(self) -> dict:
        """The keyword arguments of services.integration_point_create/update."""
        arguments = {name: self.cleaned_data[name] for name in self.Meta.fields}
        arguments["criteria"] = self.criteria_input()
        return arguments


class ProposeForm(forms.Form):
    """Propose a PI's points from its cadence: for the whole portfolio (APMO) or one
    solution train."""

    program_increment = forms.ModelChoiceField(queryset=None, label="PI", empty_label="Choose a PI")
    solution_train = forms.ModelChoiceField(queryset=None, required=False, label="For")

    def __init__(self, *args, portfolio, solution_trains, today, **kwargs):
        super().__init__(*args, **kwargs)
        pis = program_increments_in([portfolio.pk]).filter(end_date__gte=today).order_by("start_date")
        self.fields["program_increment"].queryset = pis
        self.fields["program_increment"].label_from_instance = pi_label
        whole = None in solution_trains
        owned = [t for t in solution_trains if t is not None]
        field = self.fields["solution_train"]
        field.queryset = Train.objects.filter(pk__in=[t.pk for t in owned])
        field.required = not whole
        field.choices = ([("", "The whole portfolio (every train on the PI's cadence)")] if whole else []) + [
            (t.pk, f"{t.name} and its ARTs") for t in owned
        ]


class ResultForm(forms.ModelForm):
    """Record a pass or fail, with notes, from the point's page."""

    source_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        label="Link",
        help_text="The pipeline run or the demo recording, if any.",
    )

    class Meta:
        model = IntegrationResult
        fields = ["verdict", "notes", "source_url"]
        widgets = {"verdict": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"verdict": "Result"}
        help_texts = {"notes": "What was shown working, what was not."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["verdict"].choices = ResultVerdict.choices

    def _post_clean(self):
        pass


class CriterionTickForm(forms.Form):
    met = forms.TypedChoiceField(choices=[("1", "met"), ("0", "not met")], coerce=lambda v: v == "1")
    version = forms.IntegerField(min_value=1)
