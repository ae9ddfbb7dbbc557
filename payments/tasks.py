"""Payment tasks: thin, idempotent, safe to run twice."""

from celery import shared_task

from oms.queueing import enqueue


@shared_task(name="payments.attempt_transaction", acks_late=True)
def attempt_transaction(transaction_id: int) -> None:
    """One provider attempt for a pending transaction, if it is due."""
    from payments import services

    services.payment_transaction_attempt(transaction_id=transaction_id)


@shared_task(name="payments.retry_due_transactions")
def retry_due_transactions() -> int:
    """Beat sweep: queue an attempt for every pending transaction that is due."""
    from payments import services

    due = services.payment_transactions_due()
    for transaction_id in due:
        enqueue(attempt_transaction, transaction_id)
    return len(due)
