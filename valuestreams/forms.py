"""Forms of the valuestreams pages. They validate input; the services decide."""

from django import forms

from cadence.models import Iteration, ProgramIncrement

from .models import Dependency, DependencyFlag, Feature, Health, StatusReport, Train
from .selectors import program_increments_of


class StatusReportForm(forms.ModelForm):
    """A train's weekly status. ``based_on`` carries the report the author saw, so a
    newer report posted meanwhile is detected instead of silently superseded."""

    based_on = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = StatusReport
        fields = ["health", "pi_confidence", "summary", "risks", "blockers"]
        widgets = {
            "health": forms.RadioSelect,
            "pi_confidence": forms.NumberInput(attrs={"min": 1, "max": 5}),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "risks": forms.Textarea(attrs={"rows": 3}),
            "blockers": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"pi_confidence": "PI confidence (1–5)"}
        help_texts = {"pi_confidence": "1 = no confidence in meeting the PI objectives, 5 = full confidence."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["health"].choices = Health.choices

    def clean_pi_confidence(self):
        value = self.cleaned_data["pi_confidence"]
        if value is None or not 1 <= value <= 5:
            raise forms.ValidationError("Choose a confidence from 1 to 5.")
        return value


class DependencyForm(forms.ModelForm):
    """Raise or edit a dependency. Choices are limited to the portfolio's trains, PIs,
    iterations and features; the version field guards against a concurrent edit."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Dependency
        fields = [
            "title",
            "description",
            "consumer",
            "provider",
            "needed_by_pi",
            "needed_by_iteration",
            "consumer_feature",
            "epic",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {"needed_by_pi": "Needed by PI", "needed_by_iteration": "Needed by iteration"}

    def __init__(self, *args, portfolio, consumer_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        trains = Train.objects.filter(value_stream__portfolio=portfolio).select_related("value_stream")
        self.fields["consumer"].queryset = consumer_choices if consumer_choices is not None else trains
        self.fields["provider"].queryset = trains
        for name in ("consumer", "provider"):
            self.fields[name].label_from_instance = lambda t: f"{t.name} ({t.value_stream.name})"
        pis = program_increments_of(portfolio)
        self.fields["needed_by_pi"].queryset = pis
        self.fields["needed_by_iteration"].queryset = Iteration.objects.filter(
            program_increment__in=pis
        ).select_related("program_increment")
        self.fields["needed_by_iteration"].required = False
        self.fields["consumer_feature"].queryset = Feature.objects.none()
        consumer_id = self.data.get(self.add_prefix("consumer")) or getattr(self.instance, "consumer_id", None)
        if consumer_id:
            self.fields["consumer_feature"].queryset = Feature.objects.filter(train_id=consumer_id).order_by("key")
        self.fields["epic"].queryset = portfolio.epics.order_by("key")
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        consumer, provider = cleaned.get("consumer"), cleaned.get("provider")
        if consumer and provider and consumer == provider:
            self.add_error("provider", "A train cannot depend on itself: choose another provider.")
        pi, iteration = cleaned.get("needed_by_pi"), cleaned.get("needed_by_iteration")
        if pi and iteration and iteration.program_increment_id != pi.pk:
            self.add_error("needed_by_iteration", "Choose an iteration of the needed-by PI.")
        return cleaned


class DependencyActionForm(forms.Form):
    """One workflow step, taken from the dependency's page."""

    action = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    flag = forms.ChoiceField(
        required=False, choices=[(DependencyFlag.AT_RISK, "At risk"), (DependencyFlag.BLOCKED, "Blocked")]
    )
    committed_pi = forms.ModelChoiceField(queryset=ProgramIncrement.objects.none(), required=False, label="PI")
    committed_iteration = forms.ModelChoiceField(queryset=Iteration.objects.none(), required=False, label="Iteration")
    provider_feature = forms.ModelChoiceField(
        queryset=Feature.objects.none(), required=False, label="Delivering feature"
    )

    def __init__(self, *args, dependency: Dependency, **kwargs):
        super().__init__(*args, **kwargs)
        pis = program_increments_of(dependency.portfolio)
        self.fields["committed_pi"].queryset = pis
        self.fields["committed_iteration"].queryset = Iteration.objects.filter(
            program_increment__in=pis
        ).select_related("program_increment")
        self.fields["provider_feature"].queryset = Feature.objects.filter(train_id=dependency.provider_id).order_by(
            "key"
        )
