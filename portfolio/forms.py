"""Forms of the portfolio pages. They validate input; the services decide."""

from django import forms

from .models import WIP_LIMITED_STATES, EpicState, WipLimit


class EpicMoveForm(forms.Form):
    """Move an epic to another Kanban column. ``version`` is the epic's version when the
    board was loaded, so a move of an epic changed meanwhile is refused, not applied."""

    state = forms.ChoiceField(choices=EpicState.choices, label="Move to")
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class WipLimitsForm(forms.Form):
    """The WIP limits of the limited columns, each with the version it was loaded at."""

    def __init__(self, *args, limits: dict[str, WipLimit], **kwargs):
        super().__init__(*args, **kwargs)
        for state in WIP_LIMITED_STATES:
            row = limits.get(state)
            self.fields[state] = forms.IntegerField(
                label=state.label,
                min_value=1,
                max_value=999,
                initial=row.limit if row else None,
                widget=forms.NumberInput(attrs={"class": "wip-input", "inputmode": "numeric"}),
            )
            self.fields[f"{state}_version"] = forms.IntegerField(
                required=False, initial=row.version if row else None, widget=forms.HiddenInput
            )

    def limit_fields(self):
        """(limit field, its version field) per column, for the template."""
        return [(self[state], self[f"{state}_version"]) for state in WIP_LIMITED_STATES]

    def limits(self) -> dict[str, int]:
        return {state: self.cleaned_data[state] for state in WIP_LIMITED_STATES}

    def expected_versions(self) -> dict[str, int | None]:
        return {state: self.cleaned_data.get(f"{state}_version") for state in WIP_LIMITED_STATES}
