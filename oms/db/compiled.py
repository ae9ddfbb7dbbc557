"""Read queries whose SQL is built once per process rather than once per call.

Building a queryset's SQL (resolving its look-ups, joins and columns) and loading
its rows costs more CPU than PostgreSQL spends on the small look-ups every API
request makes: its token, its channel, its products. Measured in-process, 0.4 to
0.6 ms each, against about 0.15 ms for the same statement through a cursor.

`CompiledQuery` takes a function that builds an ordinary queryset of one model
from text values. It calls it once per shape of arguments (which are lists, and
how long) with marker values, and keeps what the ORM worked out: the SQL, where
each value goes among its parameters, which columns load which fields, and the
converters of those columns. From then on a call runs that SQL with the real
values and loads the rows into model instances as the queryset would, with its
annotations as attributes. The SQL is the ORM's own for the database in use, so
SQLite runs it as well.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet

from oms.db.prepared import execute_prepared

# Longer lists (a batch's SKUs) vary too much to be worth a statement per length;
# their queryset is built as usual, once per batch.
MAX_LIST_LENGTH = 32

Value = str | Sequence[str]


@dataclass(frozen=True)
class _Statement:
    model: type[Model]
    alias: str
    sql: str
    # Per parameter: the index of the value that fills it, or a fixed value (the
    # `True` of `active=True`) wrapped in a tuple.
    slots: list[int | tuple[Any]]
    fields: slice  # the columns that load the model's fields
    field_names: list[str]  # their attnames
    annotations: dict[str, int]  # annotation name → column
    converters: dict[int, tuple[list, Any]]  # column → (converters, expression)


class CompiledQuery:
    """`CompiledQuery(lambda skus: Product.objects.filter(sku__in=skus))(skus)`
    returns the products of `skus`, as the queryset would, in a list.

    Each argument is a string or a list of strings, and lands in the SQL as
    parameters only (a filter value), never as a column or a table name. The
    queryset selects the fields of its model (no `select_related`, `only` or
    `values`) and may add annotations. Its statements are prepared
    (`oms.db.prepared`): build look-ups by unique keys, whose plan cannot depend
    on the values, not list filters."""

    def __init__(self, build: Callable[..., QuerySet]):
        self._build = build
        self._statements: dict[tuple, _Statement] = {}

    def __call__(self, *values: Value) -> list:
        shape = tuple(
            None if isinstance(value, str) else len(value) for value in values
        )
        if any(
            length is not None and not 0 < length <= MAX_LIST_LENGTH for length in shape
        ):
            # An empty list makes no SQL at all (the ORM answers without a query).
            return list(self._build(*values))
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = self._compile(shape)
        return _run(statement, _flatten(values))

    def _compile(self, shape: tuple) -> _Statement:
        markers: list[str] = []

        def marker() -> str:
            markers.append(f"\x00compiled-query-value-{len(markers)}\x00")
            return markers[-1]

        queryset = self._build(
            *(
                marker() if length is None else [marker() for _ in range(length)]
                for length in shape
            )
        )
        compiler = queryset.query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        position = {value: index for index, value in enumerate(markers)}
        slots = [
            position[param]
            if isinstance(param, str) and param in position
            else (param,)
            for param in params
        ]
        if sorted(slot for slot in slots if isinstance(slot, int)) != list(
            range(len(markers))
        ):
            raise ValueError(
                "Every value must reach the SQL as one parameter of its own."
            )
        selected = compiler.klass_info["select_fields"]
        return _Statement(
            model=queryset.model,
            alias=queryset.db,
            sql=sql,
            slots=slots,
            fields=slice(selected[0], selected[-1] + 1),
            field_names=[compiler.select[i][0].target.attname for i in selected],
            annotations=dict(compiler.annotation_col_map),
            converters=compiler.get_converters(
                [expression for expression, _, _ in compiler.select]
            ),
        )


def _flatten(values: Sequence[Value]) -> list[str]:
    return [
        item
        for value in values
        for item in ([value] if isinstance(value, str) else value)
    ]


def _run(statement: _Statement, values: list[str]) -> list:
    params = [
        values[slot] if isinstance(slot, int) else slot[0] for slot in statement.slots
    ]
    connection = connections[statement.alias]
    with connection.cursor() as cursor:
        execute_prepared(cursor, statement.sql, params)
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        row = list(row)
        for column, (converters, expression) in statement.converters.items():
            for converter in converters:
                row[column] = converter(row[column], expression, connection)
        instance = statement.model.from_db(
            statement.alias, statement.field_names, row[statement.fields]
        )
        for name, column in statement.annotations.items():
            setattr(instance, name, row[column])
        instances.append(instance)
    return instances
