"""Many-to-many links of a page of rows, read in one query per field, for the API's
lists: no model instance per link, and one instance per distinct linked row.

``portfolio.api.serializers.LinkedField`` (every many-to-many field of the API)
answers from the ``<field>_listed`` lists these set, and falls back to the related
manager where they are not set."""

from collections.abc import Sequence

from django.db.models import Model
from rest_framework.relations import PKOnlyObject


def _links(rows: Sequence[Model], name: str, *columns: str):
    """The rows' links of the many-to-many ``name`` ordered by ``columns`` of the linked
    model: (row pk, linked pk, *columns) tuples from the link table, in one query."""
    field = type(rows[0])._meta.get_field(name)
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    target = field.m2m_reverse_field_name()
    values = [f"{target}__{column}" for column in columns]
    links = through.objects.filter(**{f"{source}__in": [row.pk for row in rows]})
    return links.order_by(source, *values, f"{target}_id").values_list(source, f"{target}_id", *values)


def attach_link_ids(rows: Sequence[Model], *names: str) -> Sequence[Model]:
    """Set ``<name>_listed`` on each row for each many-to-many ``name``: the ids it links
    to, in ascending order (answered as a list of ids)."""
    for name in names if rows else ():
        listed = {row.pk: [] for row in rows}
        for owner, linked in _links(rows, name):
            listed[owner].append(PKOnlyObject(pk=linked))
        for row in rows:
            setattr(row, f"{name}_listed", listed[row.pk])
    return rows


def attach_linked(rows: Sequence[Model], name: str, *, fields: Sequence[str], order_by: str) -> Sequence[Model]:
    """Set ``<name>_listed`` on each row: the linked rows ordered by ``order_by``, as
    instances holding only ``fields`` (enough for their brief form), one instance per
    distinct linked row however many rows link to it."""
    if not rows:
        return rows
    model = type(rows[0])._meta.get_field(name).related_model
    columns = [order_by, *(field for field in fields if field != order_by)]
    listed = {row.pk: [] for row in rows}
    instances: dict[int, Model] = {}
    for owner, linked, *values in _links(rows, name, *columns):
        instance = instances.get(linked)
        if instance is None:
            instance = instances[linked] = model(pk=linked, **dict(zip(columns, values, strict=True)))
        listed[owner].append(instance)
    for row in rows:
        setattr(row, f"{name}_listed", listed[row.pk])
    return rows
