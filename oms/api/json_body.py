"""A JSON body sent to the API must be a JSON object, even where the endpoint reads
none (approve, confirm, retry, rotate a secret...): otherwise a client's broken
request would be carried out as if it were empty. Refused here, once for every
endpoint, with a 400 in the error shape, before any view runs."""

import json

from oms.api.exceptions import json_error_response

WRITE_METHODS = {"POST", "PUT", "PATCH"}


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
        # Arrays or objects nested deeper than Python's parser recurses: no real
        # request does that, and it was a 500.
        return "JSON parse error - the body is nested too deeply."
    if not isinstance(data, dict):
        return f"The body must be a JSON object, not {type(data).__name__}."
    return None


class JsonBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            problem = body_problem(request)
            if problem:
                return json_error_response(400, problem, "parse_error")
        return self.get_response(request)
