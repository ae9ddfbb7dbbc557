"""On PostgreSQL, parameters are bound server-side and repeated statements are
prepared, so the server does not plan the same statement on every request; one
switch turns both off for a connection pooler that cannot keep prepared statements."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from orders.models import Channel

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@postgresql_only
@pytest.mark.django_db
def test_a_statement_repeated_on_a_connection_is_prepared_once():
    def look_up():
        return list(Channel.objects.filter(code="prepared-test"))

    for _ in range(4):
        look_up()
    assert not any("orders_channel" in s for s in _prepared_statements())

    look_up()
    look_up()

    prepared = [s for s in _prepared_statements() if "orders_channel" in s]
    assert len(prepared) == 1
    assert "$1" in prepared[0]  # the value travels apart from the SQL


def _options_with(environment: dict[str, str]) -> dict:
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings; "
            "print(json.dumps(settings.DATABASES['default']['OPTIONS']))",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oms.settings",
            "DATABASE_URL": "postgres://oms@db.example:5432/oms",
            **environment,
        },
    ).stdout
    return json.loads(output)


def test_postgresql_binds_server_side_and_prepares_by_default():
    options = _options_with({})

    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 5


def test_one_switch_turns_binding_and_preparing_off_for_a_pooler():
    options = _options_with({"DATABASE_SERVER_SIDE_BINDING": "false"})

    assert options["server_side_binding"] is False
    assert options["prepare_threshold"] is None
