"""The demo data seeds a processed return and a blind one, once."""

import io

import pytest
from django.core.management import call_command

from returns.models import Return

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_demo_seeds_returns_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())

    returns = list(Return.objects.order_by("id"))
    assert [(r.is_blind, r.status) for r in returns] == [
        (False, "processed"),
        (True, "processed"),
    ]
