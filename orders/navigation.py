from oms.backoffice.navigation import NavItem
from oms.roles import Role

NAV_ITEMS = [NavItem("Orders", "Orders", "orders:order-list", (Role.CSR,))]
