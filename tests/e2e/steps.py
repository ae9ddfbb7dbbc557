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
