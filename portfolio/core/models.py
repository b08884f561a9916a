from django.db import models


class VersionedModel(models.Model):
    """A row that people edit: its version guards against lost updates.

    Forms carry the version in a hidden field and the API sends it as an ETag; a write
    made against an older version is refused (see ``portfolio.core.concurrency``).
    """

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
