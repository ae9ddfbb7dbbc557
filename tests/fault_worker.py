"""The real Celery app, adjusted so that a fault test can kill a worker at a known
moment and see the broker hand the task back within seconds:

- `celery -A tests.fault_worker worker` with FAULT_BROKERING_BATCH=n routes brokering
  runs n orders per batch and pauses FAULT_BROKERING_PAUSE seconds after each
  committed batch, so that a run lasts long enough to be killed in the middle;
- FAULT_PAYMENT_BACKOFF="0.5,0.5" sets the delays between payment retries (seconds)
  instead of the production minutes;
- FAULT_VISIBILITY_TIMEOUT=s makes Redis hand an unacknowledged task (its worker
  died) to another worker after s seconds instead of the production hour;
- the workflow action of tests/orders/workflows/fault_actions.py is registered.

Only for a private Redis: a short visibility timeout on a shared one would hand
other workers' long tasks out twice.
"""

import functools
import os
import time

from celery import signals

from oms.celery import app

if os.environ.get("FAULT_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "visibility_timeout": int(os.environ["FAULT_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }


@signals.worker_process_init.connect
def quick_payment_retries(**kwargs) -> None:
    if os.environ.get("FAULT_PAYMENT_BACKOFF"):
        from django.conf import settings

        settings.OMS_PAYMENT_RETRY_BACKOFF_SECONDS = [
            float(seconds) for seconds in os.environ["FAULT_PAYMENT_BACKOFF"].split(",")
        ]


@signals.worker_process_init.connect
def slow_brokering(**kwargs) -> None:
    if not os.environ.get("FAULT_BROKERING_BATCH"):
        return
    from orders.routing import services

    pause = float(os.environ.get("FAULT_BROKERING_PAUSE", "0.2"))
    services.brokering_run_execute = functools.partial(
        services.brokering_run_execute,
        batch_size=int(os.environ["FAULT_BROKERING_BATCH"]),
        on_batch=lambda run: time.sleep(pause),
    )


@signals.worker_process_init.connect
def test_workflow_actions(**kwargs) -> None:
    import tests.orders.workflows.fault_actions  # noqa: F401  (registers on import)


__all__ = ["app"]
