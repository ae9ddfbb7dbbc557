"""Values from query strings and posted forms, parsed so bad input never becomes a
500: pages and API views of every app use these instead of `int()`/`.get()`."""

from collections.abc import Mapping

BIGINT_MAX = 2**63 - 1


def int_param(value: str | None, *, maximum: int = BIGINT_MAX) -> int | None:
    """A whole number >= 0, or None when `value` is not one.

    Only ASCII digits count ("²".isdigit() is true but int() refuses it), and a
    number above `maximum` (a bigint column by default) is refused rather than
    overflowing the database column it is compared with.
    """
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if number <= maximum else None


def text_param(params: Mapping, name: str) -> str:
    """A query-string filter as text. PostgreSQL text cannot hold NUL characters,
    so they are dropped rather than turned into a server error."""
    return (params.get(name) or "").replace("\x00", "").strip()
