"""The scheduled integration checks, kept in the database (django-celery-beat) so that
an APMO can change the interval, or pause the checks, in the admin."""

from django.db import migrations

TASK = "integration.dispatch_checks"
NAME = "Check the integration points (every 15 minutes)"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15_minutes, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    if not PeriodicTask.objects.filter(task=TASK).exists():
        PeriodicTask.objects.create(
            name=NAME,
            task=TASK,
            interval=every_15_minutes,
            enabled=True,
            description="Checks every upcoming or recently passed integration point in batches, records one "
            "check run per point and interval, and emails the participants when an outcome changes. "
            "The interval is also the check window: a run repeated within it records nothing new.",
        )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0002_outcome_change"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
