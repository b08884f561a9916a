from django.db import migrations, models


def count_findings(apps, schema_editor):
    """Count the findings of the runs recorded before the counts were stored."""
    CheckRun = apps.get_model("integration", "IntegrationCheckRun")
    runs = []
    for run in CheckRun.objects.only("pk", "findings").iterator(chunk_size=2000):
        run.finding_count = len(run.findings)
        run.blocking_count = sum(1 for finding in run.findings if finding.get("severity") == "blocking")
        runs.append(run)
    CheckRun.objects.bulk_update(runs, ["finding_count", "blocking_count"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0004_integration_economics"),
    ]

    operations = [
        migrations.AddField(
            model_name="integrationcheckrun",
            name="blocking_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="integrationcheckrun",
            name="finding_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(count_findings, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="integrationcheckrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("blocking_count__lte", models.F("finding_count"))),
                name="integration_integrationcheckrun_blocking_among_findings",
            ),
        ),
    ]
