"""On PostgreSQL, parameters are bound server-side; the look-ups and inserts that run
through `oms.db.prepared` are prepared statements (parsed and planned once per
connection), and nothing else is, however often it runs. One switch turns binding,
and with it preparing, off for a connection pooler that cannot keep prepared
statements."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from oms.db.compiled import CompiledQuery
from oms.db.prepared import execute_prepared
from orders.models import Channel

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)

# A look-up by a unique key, the only kind `CompiledQuery` is for.
CHANNELS_BY_CODE = CompiledQuery(lambda code: Channel.objects.filter(code=code))


def _prepared_statements_on(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall() if table in statement]


@postgresql_only
@pytest.mark.django_db
def test_a_compiled_look_up_is_prepared_at_its_first_run_and_reused():
    CHANNELS_BY_CODE("web")
    CHANNELS_BY_CODE("marketplace")

    prepared = _prepared_statements_on("orders_channel")
    assert len(prepared) == 1
    assert "$1" in prepared[0]  # the value travels apart from the SQL


@postgresql_only
@pytest.mark.django_db
def test_an_ordinary_query_is_never_prepared_however_often_it_runs():
    # A generic plan for a list filter over a skewed column can be far slower.
    for _ in range(10):
        list(Channel.objects.filter(name="Web shop"))

    assert _prepared_statements_on("orders_channel") == []


@postgresql_only
@pytest.mark.django_db
def test_without_server_side_binding_nothing_is_prepared(monkeypatch):
    monkeypatch.setitem(
        connection.settings_dict["OPTIONS"], "server_side_binding", False
    )

    with connection.cursor() as cursor:
        execute_prepared(cursor, "SELECT id FROM orders_channel WHERE code = %s", ["x"])

    assert _prepared_statements_on("orders_channel") == []


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


def test_postgresql_binds_server_side_by_default_and_prepares_nothing_by_count():
    options = _options_with({})

    assert options["server_side_binding"] is True
    assert options.get("prepare_threshold") is None  # Django's default: off


def test_one_switch_turns_server_side_binding_off_for_a_pooler():
    options = _options_with({"DATABASE_SERVER_SIDE_BINDING": "false"})

    assert options["server_side_binding"] is False
