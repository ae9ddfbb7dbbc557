"""A workflow action for tests with a real worker process, registered there by
tests/fault_worker.py and here by importing this module: an ERP export that
fails while the order is tagged `erp-down`, so that a test brings the ERP back
from its own process by changing the order."""

from orders.workflows.actions import Action, Outcome, register

ERP_DOWN = "erp-down"


@register
class ErpExportDownWhileTagged(Action):
    code = "test_erp_export"
    label = "ERP export, down while the order is tagged erp-down (tests)"

    def run(self, *, order, params, actor=None):
        if ERP_DOWN in order.tags:
            return Outcome.error("The ERP is down.")
        return Outcome.success(f"Exported {order.number}.")

    def describe(self, *, order, params):
        return "Would export the order to the ERP."
