"""Running the steps of a stage when orders enter it.

The order services call `run_stage(orders=..., stage=...)` right after a
transition, inside its transaction:

- synchronous steps run there and then, each in a savepoint; one that fails with
  `stop_on_error` raises `WorkflowStepFailed`, which rolls the whole transition
  back (the caller shows the failure; nothing half-done stays);
- asynchronous steps get a `pending` run row in the transition's own transaction
  (one statement for the whole batch, with the synchronous runs), and Celery is
  kicked after commit (`run_pending_steps_task`, which takes every pending run:
  one message serves every commit made before a worker starts it, see
  `oms.queueing.kick`). A worker claims an order's pending rows with
  `SELECT … FOR UPDATE SKIP LOCKED` and runs them in one transaction, so a lost
  message or a crashed worker loses nothing (the `workflows.retry_due_runs` sweep
  kicks pending rows again) and two workers never run the same row. A failed one
  is retried with back-off by the same sweep, then stays `error` with a retry
  button.

With no step configured for the orders' type and stage, `run_stage` costs one
look-up in the cached configuration and nothing else.
"""

import contextvars
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from oms.bulk import insert_rows
from oms.errors import Conflict
from oms.queueing import kick_on_commit
from orders.models import Order
from orders.workflows.actions import Outcome
from orders.workflows.config import (
    SCOPE_KEYS,
    StepSpec,
    WorkflowConfig,
    channel_codes,
    current_config,
    location_codes_of,
)
from orders.workflows.models import StepResult, WorkflowStep, WorkflowStepRun

logger = logging.getLogger(__name__)

# A step may move the order on (put on hold), which runs that stage's steps; a
# configuration that loops is cut here.
MAX_NESTING = 3
_nesting = contextvars.ContextVar("workflow_nesting", default=0)

Condition = WorkflowStep.Condition


class WorkflowStepFailed(Conflict):
    """A synchronous step refused the transition; `run` is its run's row, to
    write once the transition has rolled back (`transition_atomic`)."""

    default_code = "workflow_step_failed"

    def __init__(self, message: str, *, run: dict, extra: dict) -> None:
        super().__init__(message, extra=extra)
        self.run = run


@contextmanager
def transition_atomic():
    """`transaction.atomic()` for a service whose transition runs workflow steps.
    A synchronous step that refuses the transition rolls it back, the step's run
    with it: the run is written again after the rollback, so the order's
    timeline shows why the transition was refused (nothing is written when the
    order itself was rolled back, a refused intake)."""
    try:
        with transaction.atomic():
            yield
    except WorkflowStepFailed as failure:
        if Order.objects.filter(pk=failure.run["order"]).exists():
            insert_rows(WorkflowStepRun, [failure.run])
        raise


def condition_holds(condition: str, seen: set[str]) -> bool:
    """Whether a step with `condition` runs after earlier results `seen`."""
    if condition == Condition.ALL_SUCCEEDED:
        return not seen & {StepResult.WARNING, StepResult.ERROR}
    if condition == Condition.ANY_WARNING:
        return StepResult.WARNING in seen
    if condition == Condition.ANY_ERROR:
        return StepResult.ERROR in seen
    return True


class Scope:
    """The values an order has for each scope filter, looked up for a whole
    batch at once (locations only when a step filters on them)."""

    def __init__(self, config: WorkflowConfig, orders: Sequence[Order]) -> None:
        self.config = config
        self.orders = orders
        self._locations: dict[int, set[str]] | None = None
        self._channels: dict[int, str] | None = None

    def values(self, order: Order, key: str) -> set[str]:
        if key == "channels":
            if self._channels is None:
                self._channels = channel_codes()
            return {self._channels.get(order.channel_id, "")}
        if key == "shipping_methods":
            return {order.shipping_method}
        if key == "tags":
            return set(order.tags)
        if self._locations is None:
            self._locations = location_codes_of(self.orders)
        return self._locations.get(order.pk, set())

    def refusal(self, step: StepSpec, order: Order) -> str:
        """Why `step` does not apply to `order` (empty when it does)."""
        for key in SCOPE_KEYS:
            enabled = set(step.enabled_for.get(key) or ())
            disabled = set(step.disabled_for.get(key) or ())
            if not (enabled or disabled):
                continue
            held = self.values(order, key)
            label = key.replace("_", " ")
            if enabled and not held & enabled:
                return f"Only for {label}: {', '.join(sorted(enabled))}."
            if held & disabled:
                return f"Not for {label}: {', '.join(sorted(held & disabled))}."
        return ""


RunRecorder = Callable[[StepSpec, Outcome, int], None]


def _execute(step: StepSpec, order: Order, actor) -> Outcome:
    """One action in a savepoint: an exception becomes an error outcome and its
    partial writes are undone."""
    try:
        with transaction.atomic():
            return step.runner.run(order=order, params=step.params, actor=actor)
    except Exception as exc:  # noqa: BLE001 - any failure of an action is its result
        logger.exception("Workflow step %s failed for %s", step.name, order.pk)
        return Outcome.error(f"{type(exc).__name__}: {exc}"[:1000])


def run_steps(
    *,
    steps: Sequence[StepSpec],
    order: Order,
    config: WorkflowConfig,
    scope: Scope,
    actor,
    seen: set[str],
    record: RunRecorder,
) -> StepSpec | None:
    """Run `steps` in order for one order, adding each result to `seen`; returns
    the step that failed with stop-on-error (None when the list ran through). A
    step that moved the order to another status ends the list."""
    status = order.status
    for step in steps:
        if order.status != status:
            break
        if not condition_holds(step.condition, seen) or scope.refusal(step, order):
            continue
        started = time.monotonic()
        if step.runs_group:
            outcome = _run_group(step, order, config, scope, actor, record)
        else:
            outcome = _execute(step, order, actor)
        record(step, outcome, int((time.monotonic() - started) * 1000))
        seen.add(outcome.result)
        if outcome.result == StepResult.ERROR and step.stop_on_error:
            return step
    return None


def _run_group(step, order, config, scope, actor, record) -> Outcome:
    """Run a step's group; its result is the worst of its members'."""
    group = config.groups[step.runs_group]
    members = group.steps
    if group.stop_on_error:
        members = [replace(member, stop_on_error=True) for member in members]
    seen: set[str] = set()
    failed = run_steps(
        steps=members,
        order=order,
        config=config,
        scope=scope,
        actor=actor,
        seen=seen,
        record=record,
    )
    if StepResult.ERROR in seen:
        stopped = f" “{failed.name}” failed; the rest was skipped." if failed else ""
        return Outcome.error(f"Group “{group.name}”: a step failed.{stopped}")
    if StepResult.WARNING in seen:
        return Outcome.warning(f"Group “{group.name}”: a step warned.")
    return Outcome.success(f"Group “{group.name}” ran.")


def _run_row(order: Order, stage: str, step: StepSpec, outcome: Outcome, ms: int):
    now = timezone.now()
    return {
        "order": order.pk,
        "stage": stage,
        "step": step.id,
        "step_name": step.name,
        "action": step.action,
        "timing": step.timing,
        "result": outcome.result,
        "message": outcome.message,
        "duration_ms": ms,
        "attempts": 1,
        "next_attempt_at": None,
        "prior_results": "",
        "created_at": now,
        "finished_at": now,
    }


def _refusal_row(row: dict) -> dict:
    refused = " The transition was refused and rolled back."
    return {**row, "message": (row["message"] + refused).strip()}


def _pending_row(order: Order, stage: str, step: StepSpec, seen: set[str]) -> dict:
    """The run of an asynchronous step, waiting for a worker; due for the sweep
    once its task had time to run."""
    row = _run_row(order, stage, step, Outcome(StepResult.PENDING, ""), 0)
    grace = timedelta(seconds=settings.OMS_WORKFLOW_PENDING_GRACE_SECONDS)
    row.update(
        attempts=0,
        finished_at=None,
        next_attempt_at=row["created_at"] + grace,
        prior_results=",".join(sorted(seen)),
    )
    return row


def run_stage(*, orders: Sequence[Order], stage: str, actor=None) -> None:
    """Run the steps of `stage` for `orders`, which just entered it (the caller's
    transaction holds their rows). Synchronous steps now, their runs written in one
    statement; asynchronous ones after commit, one task per order type.

    Raises `WorkflowStepFailed` (409) when a synchronous step fails with
    stop-on-error: the caller's transaction then rolls back whole."""
    config = current_config()
    by_type: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        if config.stage_steps(order.order_type_id, stage):
            by_type[order.order_type_id].append(order)
    if not by_type:
        return
    if _nesting.get() >= MAX_NESTING:
        logger.warning("Workflow steps nest too deep at %s; not running them.", stage)
        return
    token = _nesting.set(_nesting.get() + 1)
    try:
        for order_type, typed in by_type.items():
            _run_typed(config, order_type, typed, stage, actor)
    finally:
        _nesting.reset(token)


def _run_typed(config, order_type, orders, stage, actor) -> None:
    steps = config.stage_steps(order_type, stage)
    sync = [step for step in steps if not step.is_async]
    seen_by_order: dict[int, set[str]] = {order.pk: set() for order in orders}
    moved_on: set[int] = set()
    rows: list[dict] = []
    if sync:
        scope = Scope(config, orders)
        for order in orders:
            status = order.status
            failed = run_steps(
                steps=sync,
                order=order,
                config=config,
                scope=scope,
                actor=actor,
                seen=seen_by_order[order.pk],
                record=lambda step, outcome, ms, order=order: rows.append(
                    _run_row(order, stage, step, outcome, ms)
                ),
            )
            if failed:
                raise WorkflowStepFailed(
                    f"Order {order.number}: the step “{failed.name}” failed: "
                    f"{rows[-1]['message']}",
                    run=_refusal_row(rows[-1]),
                    extra={"order_number": order.number, "step": failed.name},
                )
            if order.status != status:
                moved_on.add(order.pk)
    waiting = [order for order in orders if order.pk not in moved_on]
    for step in steps:
        if step.is_async:
            rows += [
                _pending_row(order, stage, step, seen_by_order[order.pk])
                for order in waiting
            ]
    insert_rows(WorkflowStepRun, rows)
    if waiting and any(step.is_async for step in steps):
        from orders.workflows.tasks import run_pending_steps_task

        kick_on_commit(run_pending_steps_task)


def _results(text: str) -> set[str]:
    return {result for result in text.split(",") if result}


def _after_failure(attempts: int) -> tuple[str, object]:
    """An asynchronous step that failed is retried by the back-off table, then
    stays `error` for someone to retry by hand."""
    backoff = settings.OMS_WORKFLOW_RETRY_BACKOFF_SECONDS
    if attempts <= len(backoff):
        return StepResult.RETRYING, timezone.now() + timedelta(
            seconds=backoff[attempts - 1]
        )
    return StepResult.ERROR, None


class _AsyncRecorder:
    """Records the runs of asynchronous steps: a failed top-level step is
    retried (`retrying`); a group's members are recorded as they ended. A step
    with a `claimed` run (pending, or retried) has that run updated instead of a
    new one written."""

    def __init__(self, order, stage, seen, top_ids, claimed) -> None:
        self.order, self.stage, self.seen = order, stage, seen
        self.top_ids = top_ids
        self.claimed: dict[int, WorkflowStepRun] = claimed
        self.rows: list[dict] = []

    def __call__(self, step: StepSpec, outcome: Outcome, ms: int) -> None:
        claimed = self.claimed.pop(step.id, None)
        if claimed is not None:
            self._update(claimed, outcome, ms)
            return
        row = _run_row(self.order, self.stage, step, outcome, ms)
        row["prior_results"] = ",".join(sorted(self.seen))
        if outcome.result == StepResult.ERROR and step.id in self.top_ids:
            row["result"], row["next_attempt_at"] = _after_failure(1)
        self.rows.append(row)

    def _update(self, run: WorkflowStepRun, outcome: Outcome, ms: int) -> None:
        run.attempts += 1
        run.result, run.next_attempt_at = outcome.result, None
        if outcome.result == StepResult.ERROR:
            run.result, run.next_attempt_at = _after_failure(run.attempts)
        run.message, run.duration_ms = outcome.message, ms
        run.finished_at = timezone.now()
        run.save()

    def write(self) -> None:
        """Write the new runs; a pending run whose step did not run (its
        condition or filters ruled it out, an earlier step stopped the list, the
        step is no longer active) is removed, as if it had never been due."""
        insert_rows(WorkflowStepRun, self.rows)
        unused = [
            run.pk for run in self.claimed.values() if run.result == StepResult.PENDING
        ]
        if unused:
            WorkflowStepRun.objects.filter(pk__in=unused).delete()


def _locked_order(order_id: int) -> Order | None:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk=order_id)
        .first()
    )


def run_pending_steps(*, order_id: int, stage: str) -> int:
    """Claim the pending runs of `stage` for one order (the task's unit of work)
    and run their steps, in one transaction holding the runs and the order's row:
    another worker skips them (SKIP LOCKED), and a worker that dies leaves them
    pending for the sweep. Their conditions see the results of the synchronous
    steps of the transition (`prior_results`). Returns the number run (0: none
    left to claim)."""
    with transaction.atomic():
        pending: dict[int, WorkflowStepRun] = {}
        # The order entered the stage twice before a worker came: the older runs
        # now, the newer on the next call.
        for run in (
            WorkflowStepRun.objects.select_for_update(skip_locked=True)
            .filter(order_id=order_id, stage=stage, result=StepResult.PENDING)
            .order_by("id")
        ):
            pending.setdefault(run.step_id, run)
        if not pending:
            return 0
        order = _locked_order(order_id)
        config = current_config()
        steps = [
            step
            for step in config.stage_steps(order.order_type_id, stage)
            if step.is_async and step.id in pending
        ]
        seen = _results(next(iter(pending.values())).prior_results)
        recorder = _AsyncRecorder(
            order, stage, seen, {s.id for s in steps}, claimed=dict(pending)
        )
        run_steps(
            steps=steps,
            order=order,
            config=config,
            scope=Scope(config, [order]),
            actor=None,
            seen=seen,
            record=recorder,
        )
        recorder.write()
        return len(pending)


def run_retry(*, run_id: int, by_hand: bool = False) -> WorkflowStepRun | None:
    """Run a failed asynchronous step again: a due `retrying` run (the sweep), or
    an `error` one by hand (page, API). When it succeeds and had stopped the
    steps after it (stop-on-error), those run now. None when another worker holds
    the run or it is not due."""
    with transaction.atomic():
        run = (
            WorkflowStepRun.objects.select_for_update(skip_locked=True)
            .filter(pk=run_id)
            .first()
        )
        if run is None:
            return None
        if by_hand:
            if (
                run.timing != WorkflowStep.Timing.ASYNC
                or run.result != StepResult.ERROR
            ):
                raise Conflict(
                    "Only a failed step that ran after commit can be retried.",
                    code="run_not_retryable",
                )
        elif run.result != StepResult.RETRYING or run.next_attempt_at > timezone.now():
            return None
        order = _locked_order(run.order_id)
        config = current_config()
        steps = [
            s for s in config.stage_steps(order.order_type_id, run.stage) if s.is_async
        ]
        index = next((i for i, s in enumerate(steps) if s.id == run.step_id), None)
        if index is None:
            run.result, run.next_attempt_at = StepResult.ERROR, None
            run.message = "This step is no longer active for the order's type."
            run.save()
            return run
        step = steps[index]
        seen = _results(run.prior_results)
        recorder = _AsyncRecorder(
            order, run.stage, seen, {step.id}, claimed={step.id: run}
        )
        scope = Scope(config, [order])
        arguments = dict(
            order=order,
            config=config,
            scope=scope,
            actor=None,
            seen=seen,
            record=recorder,
        )
        failed = run_steps(steps=[step], **arguments)
        if step.stop_on_error and not failed and run.result != StepResult.RETRYING:
            recorder.top_ids = {s.id for s in steps}
            run_steps(steps=steps[index + 1 :], **arguments)
        recorder.write()
        return run


def pending_work(*, limit: int) -> list[tuple[int, str]]:
    """The (order id, stage) of pending runs, oldest first: what the task claims."""
    groups = (
        WorkflowStepRun.objects.filter(result=StepResult.PENDING)
        .values("order_id", "stage")
        .annotate(first=Min("id"))
        .order_by("first")[:limit]
    )
    return [(group["order_id"], group["stage"]) for group in groups]


def due_runs(*, limit: int = 500) -> tuple[list[int], set[tuple[int, str]]]:
    """What the sweep kicks: the ids of failed runs due for a retry, and the
    (order id, stage) of pending runs whose task should have run by now."""
    due = (
        WorkflowStepRun.objects.filter(
            result__in=[StepResult.RETRYING, StepResult.PENDING],
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("next_attempt_at")
        .values_list("pk", "result", "order_id", "stage")[:limit]
    )
    retries = [pk for pk, result, _, _ in due if result == StepResult.RETRYING]
    pending = {
        (order_id, stage)
        for _, result, order_id, stage in due
        if result == StepResult.PENDING
    }
    return retries, pending
