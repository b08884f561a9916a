"""Viewset mixins every app's API reuses. Both only override DRF's ``perform_*`` hooks,
so they add no routes: a viewset offers exactly the actions of the DRF mixins it lists.

- ``VersionedMixin``: optimistic concurrency for VersionedModel resources. A single
  object is answered with ``ETag: "<version>"``; PUT, PATCH and DELETE honour
  ``If-Match`` and answer 412 with the current state when it names an older version.
  Without If-Match a write is accepted (last writer wins): clients that care send it.
  The serializer applies updates with ``update_versioned``, reading the expected
  version from ``context["expected_version"]``.
- ``RulesWriteMixin``: a create checks the view's ``write_permission`` against the
  parent object in the validated data (the portfolio or value stream it is created
  in); database conflicts that validation could not foresee (a race on a unique
  name, a protected row) answer 409 instead of 500.
"""

from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from portfolio.core.concurrency import StaleVersion

from .permissions import denial_message
from .schema import VersionedAutoSchema

CONCURRENT_WRITE = "Another change was saved at the same moment and conflicts with this one: reload and retry."


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the data."
    default_code = "conflict"


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names; None when absent or ``*`` (any version).

    Only one strong ETag as the API sends it (``"3"``) is accepted: a weak tag never
    matches under If-Match, and a list of versions has no use with a version counter.
    """
    if header is None or header.strip() == "*":
        return None
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value.isdigit():
        raise ValidationError(
            {"If-Match": [f'Send the ETag of the object as the API gave it, e.g. "3" (got {header}).']}
        )
    return int(value)


def reread(view, instance):
    """The row as the view's queryset shows it (with its joins and annotations)."""
    return view.get_queryset().filter(pk=instance.pk).first() or instance


class VersionedMixin:
    """ETag on single-object answers, If-Match on writes (412 when stale)."""

    schema = VersionedAutoSchema()
    etag_actions = ("retrieve", "create", "update", "partial_update")

    def expected_version(self) -> int | None:
        return parse_if_match(self.request.headers.get("If-Match"))

    def perform_update(self, serializer):
        serializer.context["expected_version"] = self.expected_version()
        try:
            super().perform_update(serializer)
        except StaleVersion as stale:
            raise StaleVersion(reread(self, stale.current)) from None

    def perform_destroy(self, instance):
        expected = self.expected_version()
        with transaction.atomic():
            current = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
            if expected is not None and current.version != expected:
                raise StaleVersion(reread(self, current))
            super().perform_destroy(current)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            getattr(self, "action", None) in self.etag_actions
            and response.status_code in (status.HTTP_200_OK, status.HTTP_201_CREATED)
            and isinstance(data, dict)
            and "version" in data
        ):
            response["ETag"] = f'"{data["version"]}"'
        return response


class RulesWriteMixin:
    """Creates check ``write_permission`` on the parent object ``write_parent`` names in
    the validated data; IntegrityError and protected rows answer 409. Answers to writes
    are re-read through ``get_queryset()`` so they look like the list's rows."""

    write_parent: str | None = None

    def check_create_permission(self, serializer) -> None:
        perm = getattr(self, "write_permission", None)
        parent = serializer.validated_data.get(self.write_parent) if self.write_parent else None
        if perm is None or parent is None:
            self.permission_denied(self.request, message="Nothing can be created here.")
        if not self.request.user.has_perm(perm, parent):
            self.permission_denied(self.request, message=denial_message(perm))

    def perform_create(self, serializer):
        self.check_create_permission(serializer)
        try:
            super().perform_create(serializer)
        except IntegrityError:
            # Validation checked uniqueness; only a concurrent write gets here.
            raise Conflict(CONCURRENT_WRITE) from None
        serializer.instance = reread(self, serializer.instance)

    def perform_update(self, serializer):
        try:
            super().perform_update(serializer)
        except IntegrityError:
            raise Conflict(CONCURRENT_WRITE) from None
        serializer.instance = reread(self, serializer.instance)

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                super().perform_destroy(instance)
        except (ProtectedError, RestrictedError) as error:
            blocking = sorted({str(type(obj)._meta.verbose_name_plural) for obj in error.args[1]})
            raise Conflict(f"{instance} cannot be deleted while it has {', '.join(blocking)}.") from None
