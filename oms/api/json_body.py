"""A JSON body sent to the API must be a JSON object, even where the endpoint reads
none (approve, confirm, retry, rotate a secret...): otherwise a client's broken
request would be carried out as if it were empty. Refused here, once for every
endpoint, with a 400 in the error shape, before any view runs."""

import json

from oms.api.exceptions import json_error_response

WRITE_METHODS = {"POST", "PUT", "PATCH"}
# Arrays and objects nested deeper than this are refused: no request of this API
# comes near, and DRF parses the body once more, deeper in the stack, where some
# 900 levels already exhaust Python's recursion limit of 1,000.
MAX_DEPTH = 100
TOO_DEEP = f"JSON parse error - nested more than {MAX_DEPTH} levels deep."


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def body_problem(request) -> str | None:
    """Why the request's body is not a JSON object, or None (no body, not JSON)."""
    if request.method not in WRITE_METHODS or not _is_json(request.content_type):
        return None
    if not request.body.strip():
        return None
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"JSON parse error - {exc}"
    except RecursionError:
        return TOO_DEEP
    if not isinstance(data, dict):
        return f"The body must be a JSON object, not {type(data).__name__}."
    if _depth(data) > MAX_DEPTH:
        return TOO_DEEP
    return None


def _depth(data: dict) -> int:
    """How many levels of arrays and objects `data` nests, counted level by level
    rather than by recursion."""
    depth, level = 0, [data]
    while level:
        depth += 1
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
    return depth


class JsonBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            problem = body_problem(request)
            if problem:
                return json_error_response(400, problem, "parse_error")
        return self.get_response(request)
