"""Forms of the valuestreams pages. They validate input and offer the choices a page
may show; the services decide who may do what and keep the rows consistent."""

from django import forms

from cadence.models import Iteration, ProgramIncrement

from .models import Dependency, DependencyFlag, Feature, Health, StatusReport, Train
from .selectors import pi_choices_for

CONFIDENCE_CHOICES = [(n, str(n)) for n in range(1, 6)]


class StatusReportForm(forms.ModelForm):
    """A train's weekly status. ``based_on`` carries the report the author saw, so a
    newer report posted meanwhile is detected instead of silently superseded."""

    based_on = forms.IntegerField(required=False, widget=forms.HiddenInput)
    pi_confidence = forms.TypedChoiceField(
        coerce=int,
        choices=CONFIDENCE_CHOICES,
        widget=forms.RadioSelect,
        label="PI confidence",
        help_text="1 = no confidence in meeting the PI objectives, 5 = full confidence.",
        error_messages={"required": "Choose a confidence from 1 to 5.", "invalid_choice": "Choose 1 to 5."},
    )

    class Meta:
        model = StatusReport
        fields = ["health", "pi_confidence", "summary", "risks", "blockers"]
        widgets = {
            "health": forms.RadioSelect,
            "summary": forms.Textarea(attrs={"rows": 4}),
            "risks": forms.Textarea(attrs={"rows": 3}),
            "blockers": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "summary": "What happened since the last update, in a few sentences.",
            "risks": "One per line.",
            "blockers": "What stops the train now, and who can unblock it.",
        }
        error_messages = {
            "health": {"required": "Choose the train's health."},
            "summary": {"required": "Write a short summary."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["health"].choices = Health.choices  # no empty choice among the radios

    @classmethod
    def initial_from(cls, latest: StatusReport | None) -> dict:
        """A new update starts from the latest one: same health, confidence, risks and
        blockers (edit what changed); a fresh summary."""
        if latest is None:
            return {"based_on": None}
        return {
            "based_on": latest.pk,
            "health": latest.health,
            "pi_confidence": latest.pi_confidence,
            "risks": latest.risks,
            "blockers": latest.blockers,
        }

    def report_fields(self) -> dict:
        """The keyword arguments of services.status_report_post this form provides."""
        data = self.cleaned_data
        return {name: data[name] for name in self.Meta.fields} | {"based_on_id": data["based_on"]}


# --- Choices shared by the dependency forms ---------------------------------------------


def name_empty_choices(form, label: str) -> None:
    """Call the empty choice of every select of ``form`` ``label`` (e.g. "Any" in a
    filter form) instead of "---------"."""
    for field in form.fields.values():
        if getattr(field, "empty_label", None) is not None:
            field.empty_label = label
            field.widget.choices = field.choices  # the widget keeps its own copy


def _day_month(day) -> str:
    return f"{day.day} {day:%b}"


def pi_label(pi) -> str:
    return f"{pi.name} ({_day_month(pi.start_date)} – {_day_month(pi.end_date)} {pi.end_date:%Y})"


def iteration_label(iteration) -> str:
    name = "IP iteration" if iteration.is_innovation_planning else f"Iteration {iteration.number}"
    return f"{name} ({_day_month(iteration.start_date)} – {_day_month(iteration.end_date)})"


def set_pi_and_iteration_choices(form, pi_field: str, iteration_field: str, pis) -> None:
    """Offer ``pis`` (named with their dates, and their cadence when there are several)
    and their iterations grouped by PI: two queries, when the form is built."""
    pis = list(pis)
    several_cadences = len({pi.cadence_id for pi in pis}) > 1

    def group_name(pi):
        return f"{pi.name} · {pi.cadence.name}" if several_cadences else pi.name

    field = form.fields[pi_field]
    field.queryset = ProgramIncrement.objects.filter(pk__in=[pi.pk for pi in pis])
    field.choices = [("", "Choose a PI")] + [
        (pi.pk, pi_label(pi) + (f" · {pi.cadence.name}" if several_cadences else "")) for pi in pis
    ]
    by_pi = {pi.pk: [] for pi in pis}
    for iteration in Iteration.objects.filter(program_increment__in=list(by_pi)).order_by("start_date", "number"):
        by_pi[iteration.program_increment_id].append((iteration.pk, iteration_label(iteration)))
    field = form.fields[iteration_field]
    field.queryset = Iteration.objects.filter(program_increment__in=list(by_pi))
    field.choices = [("", "Any iteration (the end of the PI)")] + [
        (group_name(pi), by_pi[pi.pk]) for pi in pis if by_pi[pi.pk]
    ]


def set_feature_choices(field, train_id) -> None:
    field.queryset = Feature.objects.filter(train_id=train_id).order_by("key") if train_id else Feature.objects.none()
    field.label_from_instance = lambda feature: f"{feature.key} {feature.name}"
    field.empty_label = "None" if train_id else "Choose the consumer first"


class DependencyFormBase(forms.ModelForm):
    """Fields common to raising and editing a dependency."""

    class Meta:
        model = Dependency
        fields = ["title", "description", "needed_by_pi", "needed_by_iteration", "consumer_feature", "epic"]
        widgets = {"description": forms.Textarea(attrs={"rows": 5})}
        labels = {
            "needed_by_pi": "Needed by PI",
            "needed_by_iteration": "Needed by iteration",
            "consumer_feature": "Consumer's feature",
            "epic": "Epic",
        }
        help_texts = {
            "title": "What the consumer needs, in a line.",
            "description": "What exactly, acceptance criteria, contacts.",
            "needed_by_iteration": "Leave empty if the end of the PI will do. The colour compares it with the "
            "iteration the provider commits to.",
            "consumer_feature": "The feature that needs it: what slips if this slips follows this link.",
        }

    def _set_choices(self, *, portfolio, consumer, ending_after=None):
        set_pi_and_iteration_choices(
            self,
            "needed_by_pi",
            "needed_by_iteration",
            pi_choices_for(consumer, portfolio=portfolio, ending_after=ending_after),
        )
        set_feature_choices(self.fields["consumer_feature"], consumer.pk if consumer else None)
        self.fields["epic"].queryset = portfolio.epics.order_by("key")
        self.fields["epic"].label_from_instance = lambda epic: f"{epic.key} {epic.title}"
        self.fields["epic"].empty_label = "None"

    def clean(self):
        cleaned = super().clean()
        pi, iteration = cleaned.get("needed_by_pi"), cleaned.get("needed_by_iteration")
        if pi and iteration and iteration.program_increment_id != pi.pk:
            self.add_error("needed_by_iteration", "Choose an iteration of the needed-by PI.")
        return cleaned

    def _post_clean(self):
        # The service validates the row (and knows who may write it); the form only
        # checks its input, so a half-built instance is never validated here.
        pass


class DependencyRaiseForm(DependencyFormBase):
    """Raise a dependency for one of ``consumers`` (the trains the user may raise for).
    The consumer's features are offered once the consumer is known."""

    class Meta(DependencyFormBase.Meta):
        fields = ["consumer", "provider", *DependencyFormBase.Meta.fields]
        labels = {
            **DependencyFormBase.Meta.labels,
            "consumer": "Consumer (the train that needs it)",
            "provider": "Provider (the train asked for it)",
        }

    def __init__(self, *args, portfolio, consumers, today, **kwargs):
        super().__init__(*args, **kwargs)
        consumer_ids = [t.pk for t in consumers]
        trains = {t.pk: t for t in consumers}
        self.fields["consumer"].queryset = Train.objects.filter(pk__in=consumer_ids)
        self.fields["consumer"].choices = [("", "Choose a train")] + [(t.pk, _train_label(t)) for t in consumers]
        providers = list(
            Train.objects.filter(value_stream__portfolio=portfolio)
            .select_related("value_stream")
            .order_by("value_stream__name", "name")
        )
        self.fields["provider"].queryset = Train.objects.filter(value_stream__portfolio=portfolio)
        self.fields["provider"].choices = [("", "Choose a train")] + [(t.pk, _train_label(t)) for t in providers]
        chosen = self.data.get(self.add_prefix("consumer")) if self.is_bound else self.initial.get("consumer")
        # A train the user may not raise for (e.g. in ?consumer=) is not chosen; their only train is.
        consumer = trains.get(_as_int(chosen)) or (consumers[0] if len(consumers) == 1 else None)
        if not self.is_bound:
            self.initial["consumer"] = consumer.pk if consumer else None
        self.consumer = consumer
        self._set_choices(portfolio=portfolio, consumer=consumer, ending_after=today)

    def clean(self):
        cleaned = super().clean()
        consumer, provider = cleaned.get("consumer"), cleaned.get("provider")
        if consumer and provider and consumer == provider:
            self.add_error("provider", "A train cannot depend on itself: choose another provider.")
        feature = cleaned.get("consumer_feature")
        if feature and consumer and feature.train_id != consumer.pk:
            self.add_error("consumer_feature", "Choose a feature of the consumer train.")
        return cleaned

    def raise_arguments(self) -> dict:
        """The keyword arguments of services.dependency_raise this form provides."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class DependencyEditForm(DependencyFormBase):
    """Edit what a dependency asks for and what it links to. The hidden version is the
    one the editor loaded: a change made meanwhile is refused, not overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, portfolio, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        self._set_choices(portfolio=portfolio, consumer=self.instance.consumer)

    def changes(self) -> dict:
        """The keyword arguments of services.dependency_update this form provides."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}

    def differences_from(self, current: Dependency) -> list[str]:
        """The labels of the fields whose input differs from ``current`` (after a refused save)."""
        return [self.fields[name].label for name, value in self.changes().items() if getattr(current, name) != value]


def _train_label(train) -> str:
    return f"{train.name} ({train.value_stream.name})"


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Workflow steps ----------------------------------------------------------------------


class DependencyActionForm(forms.Form):
    """One workflow step (services.ACTIONS), taken from the dependency's page. It has
    only the fields its step needs: a reason for declining, flagging and cancelling; the
    flag for flagging; the PI, iteration and delivering feature for committing."""

    action = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason")
    flag = forms.ChoiceField(
        choices=[(DependencyFlag.AT_RISK, "At risk"), (DependencyFlag.BLOCKED, "Blocked")],
        widget=forms.RadioSelect,
        label="Flag as",
    )
    committed_pi = forms.ModelChoiceField(queryset=None, label="Committed PI")
    committed_iteration = forms.ModelChoiceField(queryset=None, required=False, label="Committed iteration")
    provider_feature = forms.ModelChoiceField(queryset=None, required=False, label="Delivering feature")

    def __init__(self, data=None, *, dependency: Dependency, action, today, **kwargs):
        kwargs.setdefault("auto_id", f"id_{action.name}_%s")  # several of these forms share a page
        super().__init__(data, **kwargs)
        self.step = action
        self.initial.update(action=action.name, version=dependency.version)
        if not action.needs_reason:
            del self.fields["reason"]
        if action.name != "flag":
            del self.fields["flag"]
        if action.name == "commit":
            set_pi_and_iteration_choices(
                self,
                "committed_pi",
                "committed_iteration",
                pi_choices_for(dependency.provider, portfolio=dependency.portfolio, ending_after=today),
            )
            set_feature_choices(self.fields["provider_feature"], dependency.provider_id)
            self.initial.update(
                committed_pi=dependency.committed_pi_id,
                committed_iteration=dependency.committed_iteration_id,
                provider_feature=dependency.provider_feature_id,
            )
        else:
            for name in ("committed_pi", "committed_iteration", "provider_feature"):
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        pi, iteration = cleaned.get("committed_pi"), cleaned.get("committed_iteration")
        if pi and iteration and iteration.program_increment_id != pi.pk:
            self.add_error("committed_iteration", "Choose an iteration of the committed PI.")
        return cleaned

    def transition_arguments(self) -> dict:
        """The keyword arguments of services.dependency_transition this form provides."""
        data = self.cleaned_data
        arguments = {"action": self.step.name, "expected_version": data["version"]}
        for name in ("reason", "flag", "committed_pi", "committed_iteration", "provider_feature"):
            if name in self.fields:
                arguments[name] = data[name]
        return arguments
