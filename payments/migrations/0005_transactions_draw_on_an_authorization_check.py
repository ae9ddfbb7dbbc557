from django.db import migrations, models


# Its own migration: on PostgreSQL the backfill in 0004 leaves foreign-key checks
# pending, and a table with pending checks cannot be altered in that transaction.
class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_transactions_draw_on_an_authorization'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='paymenttransaction',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('authorization__isnull', True), ('kind', 'authorize')), models.Q(models.Q(('kind', 'authorize'), _negated=True), ('authorization__isnull', False)), _connector='OR'), name='payment_transaction_draws_on_an_authorization'),
        ),
    ]
