from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an `Idempotency-Key`, replayed for the
    same key and body. `owner` scopes keys to one caller (hash of its credentials)."""

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveIntegerField()
    response_body = models.BinaryField()
    response_content_type = models.CharField(max_length=100)
    # The version the first response named (an order's `ETag`), replayed with it.
    response_etag = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="idempotency_key_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.key
