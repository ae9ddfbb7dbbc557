"""`python manage.py check_stock`: prove on_hand == sum(ledger) and reserved ==
sum(reservations) for every stock level; exits 1 and lists them otherwise."""

from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import stock_ledger_mismatches


class Command(BaseCommand):
    help = "Check every stock level against the ledger and the reservations."

    def handle(self, *args, **options):
        mismatches = stock_ledger_mismatches()
        if not mismatches:
            self.stdout.write(self.style.SUCCESS("Stock matches the ledger."))
            return
        for row in mismatches:
            self.stderr.write(
                "location {location_id} product {product_id}: on_hand {on_hand} vs "
                "ledger {ledger_sum}; reserved {reserved} vs reservations "
                "{reservations_sum}".format(**row)
            )
        raise CommandError(
            f"{len(mismatches)} stock level(s) disagree with the ledger."
        )
