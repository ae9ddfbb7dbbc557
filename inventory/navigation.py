from oms.backoffice.navigation import NavItem
from oms.roles import Role

READ = (Role.CSR, Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER)
STAFF = (Role.STORE_ASSOCIATE, Role.INVENTORY_MANAGER)
MANAGER = (Role.INVENTORY_MANAGER,)

NAV_ITEMS = [
    NavItem("Inventory", "Stock", "inventory:stock-list", READ),
    NavItem("Inventory", "Ledger", "inventory:ledger", READ),
    NavItem("Inventory", "Transfer orders", "inventory:transfer-order-list", READ),
    NavItem("Inventory", "ASNs", "inventory:asn-list", READ),
    NavItem("Inventory", "Adjust stock", "inventory:adjustment-create", STAFF),
    NavItem("Inventory", "Cycle counts", "inventory:cycle-count-list", STAFF),
    NavItem("Inventory", "ERP stock sync", "inventory:sync", MANAGER),
]
