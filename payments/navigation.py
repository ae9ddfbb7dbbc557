from oms.backoffice.navigation import NavItem
from oms.roles import Role

NAV_ITEMS = [
    NavItem("Orders", "Payment transactions", "payments:transaction-list", (Role.CSR,)),
]
