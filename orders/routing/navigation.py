from oms.backoffice.navigation import NavItem
from oms.roles import Role

NAV_ITEMS = [
    NavItem(
        "Fulfillment",
        "Fulfillment requests",
        "fulfillment:request-list",
        (Role.STORE_ASSOCIATE, Role.CSR, Role.INVENTORY_MANAGER),
    ),
    NavItem("Fulfillment", "Brokering runs", "fulfillment:run-list", (Role.CSR,)),
    NavItem("Fulfillment", "Routing rules", "fulfillment:rule-set-list", (Role.ADMIN,)),
    NavItem("Fulfillment", "Simulate routing", "fulfillment:simulate", (Role.CSR,)),
    NavItem("Orders", "Queues", "fulfillment:queues", (Role.CSR,)),
]
