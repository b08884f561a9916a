"""PIs of one cadence never overlap, enforced by the database itself.

PostgreSQL: an exclusion constraint over the PI's date range (btree_gist lets the
cadence id take part). SQLite has no exclusion constraints: two triggers raise the
same-named error on an overlapping insert or update.
"""

from django.db import migrations

NAME = "cadence_programincrement_no_overlap"

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE cadence_programincrement ADD CONSTRAINT {NAME}
        EXCLUDE USING gist (cadence_id WITH =, daterange(start_date, end_date, '[]') WITH &&)""",
]
POSTGRES_BACKWARD = [f"ALTER TABLE cadence_programincrement DROP CONSTRAINT IF EXISTS {NAME}"]

_SQLITE_OVERLAP = """
    SELECT RAISE(ABORT, '{name}')
    WHERE EXISTS (
        SELECT 1 FROM cadence_programincrement other
        WHERE other.cadence_id = NEW.cadence_id AND other.id IS NOT NEW.id
          AND other.start_date <= NEW.end_date AND other.end_date >= NEW.start_date
    );
"""
SQLITE_FORWARD = [
    f"CREATE TRIGGER {NAME}_insert BEFORE INSERT ON cadence_programincrement BEGIN"
    f"{_SQLITE_OVERLAP.format(name=NAME)} END",
    f"CREATE TRIGGER {NAME}_update BEFORE UPDATE OF cadence_id, start_date, end_date ON cadence_programincrement BEGIN"
    f"{_SQLITE_OVERLAP.format(name=NAME)} END",
]
SQLITE_BACKWARD = [f"DROP TRIGGER IF EXISTS {NAME}_insert", f"DROP TRIGGER IF EXISTS {NAME}_update"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("cadence", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
