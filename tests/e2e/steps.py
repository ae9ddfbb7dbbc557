"""Steps that several journeys take the same way in the browser."""

from playwright.sync_api import expect


def open_from_sidebar(page, area: str) -> None:
    """Click an area in the sidebar, as a person does, and wait for its page (the
    dashboard's counters link to the same pages under longer names)."""
    link = page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=area, exact=True
    )
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{href}")


def cells(row) -> list[str]:
    """The texts of a table row's cells, as read on the page (once it shows)."""
    expect(row).to_be_visible()
    return [text.strip() for text in row.get_by_role("cell").all_inner_texts()]


def timeline_row(page, what: str):
    """The rows of the page's timeline that mention `what` (an event, a change)."""
    timeline = page.get_by_role("region", name="Timeline")
    return timeline.get_by_role("row").filter(has_text=what)


def return_items(page, order, units: dict[str, int]) -> None:
    """From the Returns page: start a return of `order`, enter the units per SKU
    (resellable), received at Camden, and ask for the refund preview."""
    open_from_sidebar(page, "Returns")
    page.get_by_label("Order number").fill(order.number)
    page.get_by_role("button", name="Return items…").click()
    for sku, count in units.items():
        page.get_by_label(f"Units of {sku} to return").fill(str(count))
        page.get_by_label(f"Condition of {sku}").select_option("resellable")
    page.get_by_label("Receiving location").select_option(label="CAMDEN CAMDEN")
    page.get_by_role("button", name="Preview refund").click()
