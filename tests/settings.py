"""Test settings: the project's settings with tasks run eagerly and fast hashing.

Celery reads its configuration once, so eager mode is set here, not with pytest's
``settings`` fixture. The real-worker tests switch it off for themselves.
"""

import os

os.environ.setdefault("DEBUG", "true")

from portfolio.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# The real-worker tests need the real broker; every other test runs tasks in-process.
if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_RESULT_BACKEND = "cache+memory://"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# The tests run without collectstatic: whitenoise looks files up when asked instead of
# warning on every test client that STATIC_ROOT does not exist.
WHITENOISE_AUTOREFRESH = True
# Parallel test processes share one Redis, and so may two CI runs on one machine: each
# process sends to and consumes its own queue.
CELERY_TASK_DEFAULT_QUEUE = f"tributary-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
