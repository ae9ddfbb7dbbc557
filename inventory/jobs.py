"""Stock sync uploads as background jobs: each row sets one stock level, through
the same rules as the ERP stock sync."""

from inventory import services
from oms.jobs import JobKind, register
from oms.roles import Role


@register
class StockSyncJob(JobKind):
    name = "inventory.stock_sync"
    label = "Stock sync (absolute quantities)"
    roles = (Role.INVENTORY_MANAGER,)
    columns = services.SYNC_COLUMNS
    unique_by = ("location", "sku")

    def _row(self, row: dict[str, str]) -> services.SyncRow:
        return services.SyncRow(0, row["location"], row["sku"], row["quantity"])

    def apply(self, *, row, params, actor, reference) -> str:
        before, change = services.stock_sync_row_apply(
            row=self._row(row), actor=actor, reference=reference
        )
        return self._describe(before, change, done=True)

    def preview(self, *, row, params) -> str:
        before, change = services.stock_sync_row_preview(row=self._row(row))
        return self._describe(before, change, done=False)

    def _describe(self, before: int, change: int, *, done: bool) -> str:
        if not change:
            return f"Unchanged at {before}."
        verb = "Set" if done else "Would set"
        return f"{verb} on_hand {before} → {before + change} ({change:+d})."
