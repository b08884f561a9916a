"""The daily run of cadence-gated intake, kept in the database (django-celery-beat) so
that an APMO can change its time, or pause it, in the admin."""

from django.conf import settings
from django.db import migrations

TASK = "portfolio.apply_intake_cutoffs"
NAME = "Apply the intake cutoffs of PIs (daily)"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Early in the morning, after the cutoff day has ended: an epic may still be made
    # ready on the cutoff date itself.
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=getattr(settings, "CELERY_TIMEZONE", None) or settings.TIME_ZONE,
    )
    if not PeriodicTask.objects.filter(task=TASK).exists():
        PeriodicTask.objects.create(
            name=NAME,
            task=TASK,
            crontab=crontab,
            enabled=True,
            description="Defers each epic that was not ready at its target PI's intake cutoff to the next PI, "
            "records why and emails its owner. Safe to run more than once a day.",
        )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0002_epic_deferral"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
