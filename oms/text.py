"""Text the database can store."""

import re

# What a text cannot hold to be stored: PostgreSQL refuses the null character, in
# text as in jsonb, and UTF-8 cannot encode a lone surrogate (JSON can carry both).
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def holds_unstorable_text(value) -> bool:
    """Whether a JSON value holds, in a key or a string at any depth, a character
    that cannot be stored (`UNSTORABLE_CHARACTERS`)."""
    if isinstance(value, str):
        return bool(UNSTORABLE_CHARACTERS.search(value))
    if isinstance(value, dict):
        return any(
            holds_unstorable_text(key) or holds_unstorable_text(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(holds_unstorable_text(item) for item in value)
    return False
