"""Errors the API turns into clear 4xx answers instead of a 500."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portfolio.core.concurrency import StaleVersion


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A model's clean() or a service's check: name the fields as a form would.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail)
    if isinstance(exc, DjangoPermissionDenied):
        # A service's refusal says why; DRF's default would replace it with a generic one.
        exc = PermissionDenied(str(exc) or None)
    if isinstance(exc, StaleVersion):
        view = context.get("view")
        current = view.get_serializer(exc.current).data if view is not None else None
        return Response(
            {"detail": "This was changed by someone else since you loaded it.", "current": current},
            status=status.HTTP_412_PRECONDITION_FAILED,
            headers={"ETag": f'"{exc.current.version}"'},
        )
    return drf_exception_handler(exc, context)
