"""The benchmark's load tool: sequential HTTP requests on loopback, timed one by one.

The budget in the design is for sequential requests, so the client is deliberately
simple: Python's own ``http.client``, one request at a time, the time from sending the
request to the last byte of the body. It keeps a session as a browser does (cookies,
the CSRF token of the forms it posts) and reads the query count the benchmark's WSGI
wrapper adds to every response.

Cookies are kept by hand: with DEBUG off the session and CSRF cookies are ``Secure``,
and a standard cookie jar would not send them back over plain HTTP on loopback.
"""

import http.client
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie

# Added to every answer by bench.wsgi: the SQL queries the request ran, the time spent
# in them, and the worker's CPU time.
QUERY_COUNT_HEADER = "X-Bench-Queries"
SQL_TIME_HEADER = "X-Bench-SQL-Ms"
CPU_HEADER = "X-Bench-CPU-Ms"


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float
    queries: int | None
    sql_ms: float | None
    cpu_ms: float | None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def location(self) -> str:
        return self.headers.get("Location", "")


class Client:
    """One user's session against the server at ``host:port``."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None) -> Response:
        all_headers = {"Host": f"{self.host}:{self.port}", "Accept": "text/html,application/json", **self.headers}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=all_headers)
            raw = connection.getresponse()
            content = raw.read()
            ms = (time.perf_counter() - started) * 1000
        finally:
            connection.close()
        for header in raw.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        queries, sql_ms, cpu_ms = (raw.headers.get(name) for name in (QUERY_COUNT_HEADER, SQL_TIME_HEADER, CPU_HEADER))
        return Response(
            raw.status,
            raw.headers,
            content,
            ms,
            queries=int(queries) if queries is not None else None,
            sql_ms=float(sql_ms) if sql_ms is not None else None,
            cpu_ms=float(cpu_ms) if cpu_ms is not None else None,
        )

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, fields: dict) -> Response:
        path = urllib.parse.urldefrag(path).url  # as a browser: the fragment stays on the client
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return self.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://{self.host}:{self.port}",
            },
        )

    def login(self, username: str, password: str) -> None:
        """Log in through the login page, as a person does: the form, its CSRF token, the post."""
        page = self.get("/accounts/login/")
        form = find_form(page.text, lambda f: "password" in f.fields)
        if page.status != 200 or form is None:
            raise BenchError(f"the login page answered {page.status} without a login form")
        answer = self.post_form("/accounts/login/", {**form.fields, "username": username, "password": password})
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise BenchError(f"logging in as {username} failed (HTTP {answer.status})")


class BenchError(Exception):
    """The benchmark cannot go on: the message says what failed."""


# --- Forms in a page -------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """Every form of a page with the values a browser would submit by default."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower()))
        if not self.forms:
            return
        fields = self.forms[-1].fields
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs or (kind == "radio" and name not in fields):
                    fields[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "image", "file"):
                fields[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
                fields.setdefault(self._select, value)
            if "selected" in attrs:
                fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] = "".join(self._text).lstrip("\n")
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def find_form(html: str, matches) -> Form | None:
    """The first form of the page for which ``matches(form)`` is true."""
    parser = _FormParser()
    parser.feed(html)
    return next((form for form in parser.forms if matches(form)), None)
