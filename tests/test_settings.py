"""The settings module as production and `make run` see it.

Each test loads ``portfolio.settings`` in a fresh Python process with a chosen
environment: the test suite's own settings (``tests.settings``) override the broker
and are already loaded in this process, so they cannot show what production gets.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables the settings (or Django's checks) read; none may leak in from the shell or
# from tests/conftest.py, which allows async-unsafe calls for the browser tests.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_QUEUE_DIR",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMAIL_URL",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "CONN_MAX_AGE",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)

PRINT_CELERY_CONFIG = """
import json, django
django.setup()
from django.conf import settings
from portfolio.celery import app
print(json.dumps({
    "broker_url": app.conf.broker_url,
    "transport_options": app.conf.broker_transport_options,
    "connection_timeout": app.conf.broker_connection_timeout,
    "acks_late": app.conf.task_acks_late,
    "reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
    "publish_retry": app.conf.task_publish_retry,
}))
"""


def run_python(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    clean.update(
        DJANGO_SETTINGS_MODULE="portfolio.settings",
        # Keep the filesystem broker's folders out of the project folder.
        CELERY_QUEUE_DIR=str(tmp_path / "celery"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'settings-test.sqlite3'}",
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "tributary.example.org",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


SETUP_DJANGO = ["-c", "import django; django.setup()"]


def test_production_without_secret_key_stops_with_a_clear_message(tmp_path):
    env = production_env()
    del env["SECRET_KEY"]

    result = run_python(SETUP_DJANGO, tmp_path, **env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_with_a_weak_secret_key_stops_with_a_clear_message(tmp_path):
    result = run_python(SETUP_DJANGO, tmp_path, **production_env(SECRET_KEY="django-insecure-short"))

    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_production_without_allowed_hosts_stops_with_a_clear_message(tmp_path):
    env = production_env()
    del env["ALLOWED_HOSTS"]

    result = run_python(SETUP_DJANGO, tmp_path, **env)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_redis_broker_never_holds_a_request_and_redelivers_within_minutes(tmp_path):
    result = run_python(
        ["-c", PRINT_CELERY_CONFIG], tmp_path, **production_env(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])

    options = config["transport_options"]
    assert config["broker_url"].startswith("redis://")
    assert 0 < options["socket_timeout"] <= 2
    assert 0 < options["socket_connect_timeout"] <= 2
    assert 0 < config["connection_timeout"] <= 2
    # Minutes, not Redis's default hour: a task held by a killed worker comes back soon.
    assert 60 <= options["visibility_timeout"] < 3600
    assert config["acks_late"] is True
    assert config["reject_on_worker_lost"] is True
    assert config["publish_retry"] is False


def test_embedded_default_broker_is_the_filesystem_with_its_folders_created(tmp_path):
    result = run_python(["-c", PRINT_CELERY_CONFIG], tmp_path)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])

    assert config["broker_url"] == "filesystem://"
    options = config["transport_options"]
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = Path(options[key])
        assert folder.is_dir(), f"{key} {folder} was not created"
        assert folder.is_relative_to(tmp_path / "celery")


def test_embedded_sqlite_is_shared_safely_by_web_worker_and_beat(tmp_path):
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    )
    result = run_python(["-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])

    assert "journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
