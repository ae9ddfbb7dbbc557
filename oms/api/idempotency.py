"""`Idempotency-Key` for every POST under /api/.

The key is claimed (a unique row) before the view runs, in the same transaction as the
view's writes: a concurrent request with the same key waits for the first and then
replays its response; the same key with another body is a 409. Server errors and
conflicts (409: "not now", e.g. someone else is changing the order) are not stored, so
they can be retried with the same key.
"""

import hashlib

from django.db import IntegrityError, transaction
from django.http import HttpResponse

from oms.api.exceptions import json_error_response
from oms.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _owner(request) -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return hashlib.sha256(authorization.encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return hashlib.sha256(f"user:{user.pk}".encode()).hexdigest()
    return hashlib.sha256(b"anonymous").hexdigest()


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body),
        status=record.response_status,
        content_type=record.response_content_type,
    )
    response["Idempotent-Replayed"] = "true"
    if record.response_etag:
        response["ETag"] = record.response_etag
    return response


def _stored_answer(owner: str, key: str, request_hash: str) -> HttpResponse | None:
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        return json_error_response(
            409,
            "This Idempotency-Key was used with a different request body.",
            "idempotency_key_reused",
        )
    return _replay(record)


def _replayable(response) -> bool:
    """A refusal for now (409) or a server error may succeed on retry: not kept."""
    return (
        response.status_code < 500
        and response.status_code != 409
        and not (response.streaming)
    )


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(HEADER)
        if request.method != "POST" or not key or not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(key) > MAX_KEY_LENGTH:
            return json_error_response(
                400, "Idempotency-Key is too long.", "invalid_key"
            )
        owner, request_hash = _owner(request), _request_hash(request)
        answer = _stored_answer(owner, key, request_hash)
        if answer is not None:
            return answer
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    request_hash=request_hash,
                    response_status=0,
                    response_body=b"",
                    response_content_type="",
                )
                response = self.get_response(request)
                if not _replayable(response):
                    transaction.set_rollback(True)
                    return response
                record.response_status = response.status_code
                record.response_body = response.content
                record.response_content_type = response.get("Content-Type", "")
                record.response_etag = response.get("ETag", "")
                record.save(
                    update_fields=[
                        "response_status",
                        "response_body",
                        "response_content_type",
                        "response_etag",
                    ]
                )
                return response
        except IntegrityError:
            # Another request with this key committed first.
            answer = _stored_answer(owner, key, request_hash)
            if answer is None:
                raise
            return answer
