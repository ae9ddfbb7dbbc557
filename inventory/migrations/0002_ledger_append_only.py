"""On PostgreSQL the ledger refuses UPDATE and DELETE of its rows (only the actor may
be cleared when a user is deleted): corrections are new rows, never edits."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'inventory_inventorytransaction is append-only'
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER inventory_ledger_no_update
  BEFORE UPDATE OF type, location_id, product_id, quantity, on_hand_after, reference,
    reason, note, created_at
  ON inventory_inventorytransaction
  FOR EACH ROW EXECUTE FUNCTION inventory_ledger_append_only();
CREATE TRIGGER inventory_ledger_no_delete
  BEFORE DELETE ON inventory_inventorytransaction
  FOR EACH ROW EXECUTE FUNCTION inventory_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS inventory_ledger_no_update ON inventory_inventorytransaction;
DROP TRIGGER IF EXISTS inventory_ledger_no_delete ON inventory_inventorytransaction;
DROP FUNCTION IF EXISTS inventory_ledger_append_only();
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
