"""Dispatching Celery tasks from a request without ever putting the broker on its path.

A task is sent only after the surrounding transaction commits (so a worker never reads
a row that is not there yet), and a broker that is down or hanging costs at most its
short connect timeout: the failure is logged, never raised into the page, and the
periodic sweeps pick up what was missed.

By then the change is committed, so no failure to queue may answer the request with an
error: a broker that is down is a warning; anything else (a broker URL naming an
unknown transport, a transport whose module cannot be imported) is logged with its
traceback as an error, for whoever runs the site to fix.
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
        except Exception:  # the change is saved: report the fault, never turn it into an error page
            logger.exception("Could not queue %s%r: the broker is misconfigured", task.name, args)

    transaction.on_commit(send)
