"""Back-office pages of the workflows: order types, the workflow chart of each
(stages as columns, steps as boxes) with its step editor, step groups with
their members, and the retry of a failed step from the order page.
Configuration is for admins."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from oms.backoffice.access import RoleRequiredMixin, run_action
from oms.errors import ApplicationError
from oms.roles import Role
from orders.workflows import selectors, services
from orders.workflows.forms import (
    CopyOrderTypeForm,
    GroupForm,
    OrderTypeForm,
    StepForm,
)
from orders.workflows.runner import run_retry

ADMIN: tuple[str, ...] = ()


def _errors_to_form(form, exc: ApplicationError) -> None:
    for field, errors in exc.field_errors.items():
        name = field.split(".")[0]
        form.add_error(name if name in form.fields else None, errors)


def _saved(request, form, save, success) -> bool:
    """Run `save()` when the form is valid: True with the `success(saved)`
    message, or False with the service's refusal shown on the form."""
    if not form.is_valid():
        return False
    try:
        saved = save()
    except ApplicationError as exc:
        _errors_to_form(form, exc)
        messages.error(request, exc.message)
        return False
    messages.success(request, success(saved))
    return True


class OrderTypeListView(RoleRequiredMixin, TemplateView):
    template_name = "workflows/order_type_list.html"
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "order_types": selectors.order_type_list(),
            "copy_form": CopyOrderTypeForm(),
        }


class OrderTypeEditView(RoleRequiredMixin, View):
    """Create (no code) or edit an order type."""

    allowed_roles = ADMIN

    def _render(self, request, form, order_type):
        return render(
            request,
            "workflows/order_type_form.html",
            {"form": form, "order_type": order_type},
        )

    def get(self, request, code: str = ""):
        order_type = selectors.order_type_get(code=code) if code else None
        initial = OrderTypeForm.initial_for(order_type) if order_type else None
        return self._render(request, OrderTypeForm(initial=initial), order_type)

    def post(self, request, code: str = ""):
        order_type = selectors.order_type_get(code=code) if code else None
        form = OrderTypeForm(request.POST)
        if form.is_valid():
            try:
                if order_type:
                    services.order_type_update(
                        order_type=order_type, **form.cleaned_data
                    )
                else:
                    order_type = services.order_type_create(**form.cleaned_data)
            except ApplicationError as exc:
                _errors_to_form(form, exc)
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Order type {order_type.name} saved.")
                return redirect("workflows:chart", code=order_type.code)
        return self._render(request, form, order_type)


class OrderTypeCopyView(RoleRequiredMixin, View):
    allowed_roles = ADMIN

    def post(self, request):
        form = CopyOrderTypeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose the order type to copy, a code and a name.")
            return redirect("workflows:order-type-list")
        data = form.cleaned_data
        try:
            copy = services.order_type_create(**data)
        except ApplicationError as exc:
            messages.error(
                request,
                f"{exc.message} "
                + " ".join(m for ms in exc.field_errors.values() for m in ms),
            )
            return redirect("workflows:order-type-list")
        messages.success(request, f"{copy.name} copied from {data['copy_from'].name}.")
        return redirect("workflows:chart", code=copy.code)


class ChartView(RoleRequiredMixin, View):
    """The workflow chart of an order type, with the form adding a step."""

    allowed_roles = ADMIN

    def _render(self, request, order_type, form):
        return render(
            request,
            "workflows/chart.html",
            {
                "order_type": order_type,
                "columns": selectors.workflow_chart(order_type=order_type),
                "form": form,
            },
        )

    def get(self, request, code: str):
        order_type = selectors.order_type_get(code=code)
        initial = {"stage": request.GET.get("stage", "")}
        return self._render(request, order_type, StepForm(initial=initial))

    def post(self, request, code: str):
        order_type = selectors.order_type_get(code=code)
        form = StepForm(request.POST)
        if _saved(
            request,
            form,
            lambda: services.step_create(
                order_type=order_type,
                stage=form.cleaned_data["stage"],
                **form.step_fields(),
            ),
            lambda step: f"Step “{step.name}” added.",
        ):
            return redirect("workflows:chart", code=code)
        return self._render(request, order_type, form)


class StepEditView(RoleRequiredMixin, View):
    """Edit or remove a step of a chart or a member of a group."""

    allowed_roles = ADMIN

    def _form(self, step, data=None) -> StepForm:
        form = StepForm(
            data, initial=StepForm.initial_for(step), in_group=step.group_id is not None
        )
        if "stage" in form.fields:
            form.fields["stage"].disabled = True  # a step stays in its stage
        return form

    def _render(self, request, step, form):
        return render(request, "workflows/step_form.html", {"step": step, "form": form})

    def get(self, request, pk: int):
        step = selectors.step_get(pk=pk)
        return self._render(request, step, self._form(step))

    def post(self, request, pk: int):
        step = selectors.step_get(pk=pk)
        back = (
            reverse("workflows:group", args=[step.group.code])
            if step.group_id
            else reverse("workflows:chart", args=[step.order_type.code])
        )
        if "delete" in request.POST:
            return run_action(
                request,
                lambda: services.step_delete(step=step),
                success=f"Step “{step.name}” removed.",
                redirect_to=back,
            )
        form = self._form(step, request.POST)
        if _saved(
            request,
            form,
            lambda: services.step_update(step=step, **form.step_fields()),
            lambda saved: f"Step “{saved.name}” saved.",
        ):
            return redirect(back)
        return self._render(request, step, form)


class GroupListView(RoleRequiredMixin, View):
    """The step groups, and the form creating one."""

    allowed_roles = ADMIN

    def _render(self, request, form):
        groups = selectors.group_list()
        return render(
            request, "workflows/group_list.html", {"groups": groups, "form": form}
        )

    def get(self, request):
        return self._render(request, GroupForm())

    def post(self, request):
        form = GroupForm(request.POST)
        if _saved(
            request,
            form,
            lambda: services.group_create(**form.cleaned_data),
            lambda group: f"Step group {group.name} created.",
        ):
            return redirect("workflows:group", code=form.cleaned_data["code"])
        return self._render(request, form)


def _group_page(request, group, *, form=None, step_form=None):
    """A group's settings, its members in running order, and the form adding
    a member."""
    return render(
        request,
        "workflows/group_detail.html",
        {
            "group": group,
            "steps": selectors.step_list(group=group.code),
            "form": form or GroupForm.for_group(group),
            "step_form": step_form or StepForm(in_group=True),
        },
    )


class GroupView(RoleRequiredMixin, View):
    """A step group; POST saves its settings."""

    allowed_roles = ADMIN

    def get(self, request, code: str):
        return _group_page(request, selectors.group_get(code=code))

    def post(self, request, code: str):
        group = selectors.group_get(code=code)
        form = GroupForm.for_group(group, request.POST)
        if _saved(
            request,
            form,
            lambda: services.group_update(
                group=group,
                **{k: v for k, v in form.cleaned_data.items() if k != "code"},
            ),
            lambda saved: f"Step group {saved.name} saved.",
        ):
            return redirect("workflows:group", code=code)
        return _group_page(request, group, form=form)


class GroupStepCreateView(RoleRequiredMixin, View):
    """Add a member at the end of a group (or where its position says)."""

    allowed_roles = ADMIN

    def post(self, request, code: str):
        group = selectors.group_get(code=code)
        form = StepForm(request.POST, in_group=True)
        if _saved(
            request,
            form,
            lambda: services.step_create(group=group, **form.step_fields()),
            lambda step: f"Step “{step.name}” added to {group.name}.",
        ):
            return redirect("workflows:group", code=code)
        return _group_page(request, group, step_form=form)


class RunRetryView(RoleRequiredMixin, View):
    """The retry button of a failed step in an order's timeline."""

    allowed_roles = (Role.CSR,)

    def post(self, request, pk: int):
        run = selectors.run_get(pk=pk)
        return run_action(
            request,
            lambda: run_retry(run_id=run.pk, by_hand=True),
            success=f"Step “{run.step_name}” run again.",
            redirect_to=run.order.get_absolute_url(),
        )
