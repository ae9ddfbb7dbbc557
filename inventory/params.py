def text_param(params, name: str) -> str:
    """A query-string filter as text. PostgreSQL text cannot hold NUL characters,
    so they are dropped rather than turned into a server error."""
    return params.get(name, "").replace("\x00", "").strip()
