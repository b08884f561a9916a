"""Dispatching Celery tasks from a request without ever putting the broker on its path.

A task is sent only after the surrounding transaction commits (so a worker never reads
a row that is not there yet), and a broker that is down or hanging costs at most its
short connect timeout: the failure is logged, never raised into the page, and the
periodic sweeps pick up what was missed.
"""

import logging

from django.db import transaction
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)


def send_after_commit(task, *args, **kwargs) -> None:
    """Queue ``task`` with ids as arguments once the current transaction commits."""

    def send():
        try:
            task.apply_async(args=args, kwargs=kwargs, retry=False)
        except (KombuError, OSError, TimeoutError) as error:  # the broker is down or hanging
            logger.warning("Could not queue %s%r: %s", task.name, args, error)

    transaction.on_commit(send)
