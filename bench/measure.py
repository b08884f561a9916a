"""The HTTP measurements: pages and API lists read again and again, and the two writes
(a status update, a dependency step) each posted from the page a person would use."""

import http.client
import json
import urllib.parse
from dataclasses import dataclass

from bench.client import BenchError, Client, find_form
from bench.results import Figure


@dataclass(frozen=True)
class Repetition:
    warmup: int
    requests: int


def read(client: Client, figure: Figure, repetition: Repetition) -> Figure:
    """GET the figure's path ``warmup`` times untimed, then ``requests`` times timed.
    Every answer must be 200; the query count is the most any timed request ran."""
    last = None
    for attempt in range(repetition.warmup + repetition.requests):
        try:
            response = client.get(figure.path)
        except (OSError, http.client.HTTPException) as failure:
            figure.error = f"no answer: {failure}"
            return figure
        if response.status != 200:
            figure.error = f"HTTP {response.status}" + (f" → {response.location()}" if response.location() else "")
            return figure
        if attempt >= repetition.warmup:
            figure.add(response)
        last = response
    if figure.group == "api" and last is not None:
        _describe_api_answer(figure, last.body)
    return figure


def _describe_api_answer(figure: Figure, body: bytes) -> None:
    """A paginated list holds the budget of an API list; say how many items it returned."""
    try:
        data = json.loads(body)
    except ValueError:
        figure.error = "not JSON"
        return
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        figure.note = f"{len(data['results'])} of {data.get('count', '?')} items"
    else:
        figure.budget_ms = None
        figure.note = "not a list"


def api_lists(client: Client, root: str, *, page_size: int) -> list[tuple[str, str]]:
    """(name, path with page_size) of every endpoint the API root lists."""
    response = client.get(root)
    if response.status != 200:
        raise BenchError(f"the API root {root} answered {response.status}")
    endpoints = []
    for name, url in json.loads(response.body).items():
        path = urllib.parse.urlsplit(url).path
        endpoints.append((name, f"{path}?{urllib.parse.urlencode({'page_size': page_size})}"))
    return endpoints


def status_updates(client: Client, figure: Figure, train_path: str, repetition: Repetition) -> Figure:
    """Post the train's status from its page, as its RTE does: load the page (untimed),
    fill in the form it shows, post it (timed). Each post must be accepted (a redirect)."""
    for attempt in range(repetition.warmup + repetition.requests):
        page = client.get(train_path)
        form = find_form(page.text, lambda f: "summary" in f.fields and "csrfmiddlewaretoken" in f.fields)
        if page.status != 200 or form is None:
            figure.error = f"the train page answered {page.status} without a status form"
            return figure
        fields = {**form.fields, "summary": f"Benchmark status update {attempt + 1}: on track."}
        answer = client.post_form(form.action or train_path, fields)
        if answer.status != 302:
            figure.error = f"the status update answered HTTP {answer.status}"
            return figure
        if attempt >= repetition.warmup:
            figure.add(answer)
    return figure


def dependency_steps(client: Client, figure: Figure, dependency_path: str, repetition: Repetition) -> Figure:
    """Flag the dependency as at risk, then clear the flag, and again, from its page as
    the provider does (the page is loaded untimed; the post is timed). Each step queues
    an email to the other side, so each post goes to the broker once committed."""
    for attempt in range(repetition.warmup + repetition.requests):
        page = client.get(dependency_path)
        forms = {
            name: find_form(page.text, lambda f, name=name: f.fields.get("action") == name)
            for name in ("clear_flag", "flag")
        }
        if page.status != 200 or not any(forms.values()):
            figure.error = f"the dependency page answered {page.status} without a flag form"
            return figure
        if forms["clear_flag"]:
            form, extra = forms["clear_flag"], {}
        else:
            form, extra = forms["flag"], {"flag": "at_risk", "reason": "Benchmark: the provider's test rig is late."}
        answer = client.post_form(form.action, {**form.fields, **extra})
        if answer.status != 302:
            figure.error = f"the dependency step answered HTTP {answer.status}"
            return figure
        if attempt >= repetition.warmup:
            figure.add(answer)
    return figure
