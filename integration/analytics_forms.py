"""Forms of the analytics and release pages. They check the input's shape; the services
(``analytics.economics_save``, ``releases.release_*``) decide who may and whether the
change fits with the rest. Edit forms carry the version they were loaded at (hidden)."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from .models import IntegrationPoint
from .releases import manageable_value_streams

ABOVE_ZERO = "Enter a cost above zero."


def positive_cost(label: str, *, decimal_places: int, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=decimal_places,
        help_text=help_text,
        error_messages={"invalid": "Enter a number, e.g. 12.5.", "required": "Enter a cost."},
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
    )


class EconomicsForm(forms.Form):
    """A value stream's cost figures. ``version`` 0: none saved yet."""

    transaction_cost = positive_cost(
        "Transaction cost of one integration",
        decimal_places=2,
        help_text="Effort, environments and automation it takes to integrate once.",
    )
    holding_cost_per_day = positive_cost(
        "Holding cost per day of deferred integration",
        decimal_places=3,
        help_text="What a day's delay in integrating costs: deferred learning, rework found later.",
    )
    unit = forms.CharField(
        label="Unit of both costs",
        max_length=20,
        help_text="Person-days, €k, … The best interval does not depend on it.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def _positive(self, name: str) -> Decimal:
        value = self.cleaned_data[name]
        if value is None or value <= 0:
            raise ValidationError(ABOVE_ZERO)
        return value

    def clean_transaction_cost(self) -> Decimal:
        return self._positive("transaction_cost")

    def clean_holding_cost_per_day(self) -> Decimal:
        return self._positive("holding_cost_per_day")

    def clean_unit(self) -> str:
        return self.cleaned_data["unit"].strip()


class ReleaseForm(forms.Form):
    """A release: its name, date, the value streams it spans and the points it is gated
    on. The value streams offered are those the user may manage releases of."""

    name = forms.CharField(max_length=160)
    date = forms.DateField(label="Release date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    value_streams = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label="Value streams it spans",
        error_messages={"required": "Choose the value streams the release spans."},
    )
    integration_points = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Gated on these integration points",
        help_text="The release is ready when every one of them has passed.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user, portfolio, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value_streams"].queryset = manageable_value_streams(user, portfolio)
        self.fields["integration_points"].queryset = IntegrationPoint.objects.filter(portfolio=portfolio)

    @classmethod
    def initial_from(cls, release) -> dict:
        return {
            "name": release.name,
            "date": release.date,
            "description": release.description,
            "value_streams": [stream.pk for stream in release.value_streams.all()],
            "integration_points": [point.pk for point in release.integration_points.all()],
            "version": release.version,
        }

    @property
    def changes(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("name", "date", "description", "value_streams", "integration_points")
        }

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)

    def selected_point_ids(self) -> set[int]:
        """The points ticked in the form as shown (submitted data, else the initial)."""
        if self.is_bound:
            raw = self.data.getlist(self.add_prefix("integration_points"))
        else:
            raw = self.initial.get("integration_points", [])
        return {int(value) for value in raw if str(value).isdigit()}
