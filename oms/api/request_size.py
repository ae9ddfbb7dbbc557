"""Request bodies over the configured limit are refused with a 413, before anything
reads them.

Django checks `DATA_UPLOAD_MAX_MEMORY_SIZE` only when `request.body` or form data
is read, and DRF's JSON parser reads the stream directly, past that check. This
middleware compares the declared Content-Length with the limit up front:
`DATA_UPLOAD_MAX_MEMORY_SIZE` (`MAX_REQUEST_BYTES`) for JSON and forms,
`OMS_MAX_UPLOAD_BYTES` for multipart uploads (CSV files). The API answers in its
error shape; a page gets a short text.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from oms.api.exceptions import too_large_body


def body_limit(request) -> int | None:
    if request.content_type == "multipart/form-data":
        return settings.OMS_MAX_UPLOAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit(request)
        if limit is not None and _declared_length(request) > limit:
            body = too_large_body(limit)
            if request.path.startswith("/api/"):
                return JsonResponse(body, status=413)
            return HttpResponse(body["detail"], status=413, content_type="text/plain")
        return self.get_response(request)
