"""Demo data for `make run`: one staff user per role, then each app's own demo data
(`<app>/demo.py` with `seed(stdout)`), idempotently."""

from importlib import import_module

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from oms.roles import STAFF_ROLES

DEMO_PASSWORD = "demo-password"
DEMO_APPS = ["inventory", "payments", "orders", "orders.routing", "returns"]


def ensure_user(username: str, role: str, *, superuser: bool = False):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": superuser, "is_superuser": superuser}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


class Command(BaseCommand):
    help = "Load demo data (idempotent): staff users per role and each app's demo data."

    def handle(self, *args, **options):
        with transaction.atomic():
            for role in STAFF_ROLES:
                ensure_user(role, role, superuser=(role == "admin"))
            for app in DEMO_APPS:
                try:
                    module = import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.seed(self.stdout)
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for role in STAFF_ROLES:
            self.stdout.write(f"  {role:<18} username: {role}")
