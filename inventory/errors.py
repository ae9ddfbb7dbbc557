"""Error codes of the inventory app (rendered by the API handler and by pages)."""

from oms.errors import ApplicationError, Conflict


class InsufficientStock(Conflict):
    """Fewer units available than asked for; nothing was reserved or moved."""

    default_code = "insufficient_stock"


class InsufficientReservation(Conflict):
    """The owner holds fewer reserved units than it tried to consume."""

    default_code = "insufficient_reservation"


class ReservedExceedsOnHand(Conflict):
    """on_hand may not drop below the units reserved for owners."""

    default_code = "reserved_exceeds_on_hand"


class LocationInactive(Conflict):
    default_code = "location_inactive"


class OverReceipt(ApplicationError):
    """More units received than expected and `allow_over_receipt` not set."""

    default_code = "over_receipt"


class UnknownItem(ApplicationError):
    default_code = "unknown_item"


class InvalidQuantity(ApplicationError):
    default_code = "invalid_quantity"
