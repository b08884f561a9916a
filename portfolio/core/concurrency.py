"""Optimistic locking on the ``version`` column of VersionedModel rows.

An edit names the version it was made against. Inside a transaction the row is read
with a lock (PostgreSQL: SELECT ... FOR UPDATE; SQLite runs every transaction as
IMMEDIATE, which serialises writers), the version compared, and only then written,
so two editors of one row cannot overwrite each other on either database.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models, transaction

M = TypeVar("M", bound=models.Model)


class StaleVersion(Exception):
    """The row changed since the editor loaded it; ``current`` is the stored row."""

    def __init__(self, current: models.Model):
        super().__init__(f"{current} was changed by someone else meanwhile (now version {current.version}).")
        self.current = current


def update_versioned(instance: M, *, expected_version: int | None, changes: Mapping[str, Any]) -> M:
    """Apply ``changes`` to the stored row of ``instance`` if it is still at ``expected_version``.

    ``expected_version`` None skips the check (an edit that carries no version, e.g. an
    API PATCH without If-Match). Validates with full_clean and saves, so the audit
    history records the change. Returns the saved row; raises StaleVersion otherwise.
    """
    model = type(instance)
    with transaction.atomic():
        current = model._default_manager.select_for_update().get(pk=instance.pk)
        if expected_version is not None and current.version != expected_version:
            raise StaleVersion(current)
        for name, value in changes.items():
            setattr(current, name, value)
        current.version += 1
        current.full_clean()
        current.save()
    return current
