from oms.backoffice.navigation import NavItem
from oms.roles import Role

NAV_ITEMS = [
    NavItem(
        "Returns", "Returns", "returns:return-list", (Role.CSR, Role.STORE_ASSOCIATE)
    )
]
