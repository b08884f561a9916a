"""How the OpenAPI document describes Tributary's API conventions.

- ``ApiAutoSchema`` (every view): the error answers every operation may give, so that a
  client (and the contract tests) can rely on each status code being documented: 400
  with the fields named, 401 without a valid token, 403 when the role does not allow
  it, 404 for what does not exist or is not yours to see.
- ``VersionedAutoSchema``: single-object answers carry an ``ETag``; PUT, PATCH and
  DELETE take an optional ``If-Match`` and may answer 412 with the current state.
- Brief forms: a serializer used with ``nested=True`` is its own component
  (``TrainBrief``), and a ``BriefRelatedField`` is an id in requests and that brief
  object in responses.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type, build_choice_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

CONCURRENCY_NOTE = (
    "Optimistic concurrency: send the `ETag` of the object you edited as `If-Match` "
    '(e.g. `If-Match: "3"`). If the object changed since, the answer is 412 with its '
    "current state and ETag, and nothing is written. Without `If-Match` the write is "
    "accepted whatever the current version (last writer wins)."
)

IF_MATCH = OpenApiParameter(
    "If-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description='The ETag (version) the change was made against, e.g. "3". Optional: without it the '
    "write is not checked for conflicts.",
)
ETAG = OpenApiParameter(
    "ETag",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[200, 201, 412],
    description='The object\'s current version, quoted, e.g. "3": send it back as If-Match.',
)

_stale_version_serializers: dict[type, type] = {}


def stale_version_serializer(serializer) -> type:
    """The 412 body: a message and the object's current state (one component per model)."""
    serializer_class = type(serializer)
    if serializer_class not in _stale_version_serializers:
        name = serializer_class.__name__.removesuffix("Serializer")
        _stale_version_serializers[serializer_class] = inline_serializer(
            name=f"{name}StaleVersion",
            fields={"detail": serializers.CharField(), "current": serializer_class(read_only=True)},
        )
    return _stale_version_serializers[serializer_class]


ERROR = inline_serializer(name="Error", fields={"detail": serializers.CharField(help_text="What went wrong.")})
FIELD_ERRORS = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="The request is not valid: each field named with its messages (`non_field_errors` for "
    'the request as a whole), e.g. `{"date": ["Enter a valid date."]}`; or `detail` for a body that '
    "cannot be read.",
)
ERRORS = {
    "400": FIELD_ERRORS,
    "401": OpenApiResponse(response=ERROR, description="No valid API token or session."),
    "403": OpenApiResponse(response=ERROR, description="Your role does not allow this; `detail` says who may."),
    "404": OpenApiResponse(
        response=ERROR,
        description="Not found: it does not exist, it is not in a portfolio you are a member "
        "of, or the page number is past the last page.",
    ),
}


class ApiAutoSchema(AutoSchema):
    """AutoSchema with the error answers of every operation (see the module docstring)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses


class VersionedAutoSchema(ApiAutoSchema):
    """AutoSchema for VersionedMixin views: If-Match, ETag and the 412 answer."""

    WRITES = ("PUT", "PATCH", "DELETE")

    def _is_single_object(self) -> bool:
        return self.method != "GET" or not self._is_list_view()

    def get_tags(self):
        # /api/v1/trains/{id}/ is tagged "trains", not "v1".
        segments = [part for part in self.path.split("/") if part and part not in ("api", "v1")]
        return segments[:1] or super().get_tags()

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in self.WRITES:
            parameters.append(IF_MATCH)
        if self.method != "DELETE" and self._is_single_object():
            parameters.append(ETAG)
        return parameters

    def get_description(self):
        description = super().get_description() or ""
        if self.method in self.WRITES:
            return f"{description}\n\n{CONCURRENCY_NOTE}".strip()
        return description

    def get_response_serializers(self):
        serializer = super().get_response_serializers()
        if self.method in self.WRITES and isinstance(serializer, serializers.Serializer):
            ok = {204: None} if self.method == "DELETE" else {200: serializer}
            return {**ok, 412: stale_version_serializer(serializer)}
        return serializer


class BriefFormExtension(OpenApiSerializerExtension):
    """A serializer in its brief form (``nested=True``) is the component ``<Model>Brief``."""

    target_class = "portfolio.api.serializers.ModelSerializer"
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        if getattr(self.target, "nested", False):
            return f"{self.target.Meta.model.__name__}Brief"
        return None

    def map_serializer(self, auto_schema, direction):
        return auto_schema._map_serializer(self.target, direction, bypass_extensions=True)


class BriefRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """Written as the related object's id, read as its brief form."""

    target_class = "portfolio.api.serializers.BriefRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_basic_type(OpenApiTypes.INT)
        return auto_schema.resolve_serializer(self.target.brief_serializer(), direction).ref


class DomainChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """A model field's choices as the enum component ``<Model><Field>Enum``."""

    target_class = "portfolio.api.serializers.DomainChoiceField"

    def get_name(self):
        model = self.target.parent.Meta.model.__name__
        field = "".join(part.capitalize() for part in self.target.field_name.split("_"))
        return f"{model}{field}Enum"

    def map_serializer_field(self, auto_schema, direction):
        return build_choice_field(self.target)
