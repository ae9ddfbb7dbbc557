from oms.backoffice.navigation import NavItem

NAV_ITEMS = [NavItem("Orders", "Workflows", "workflows:order-type-list", ())]
