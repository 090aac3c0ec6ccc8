"""Mark a task row started and load it, in one statement where the database can.

PostgreSQL and SQLite (3.35+) run ``UPDATE … WHERE pk AND job_id … RETURNING <every column>``: the row
is claimed for this try and read back fresh in one round trip and one commit, instead of a ``SELECT``
then an ``UPDATE``. Other databases (and the rare miss, to say why) take the two statements through
the ORM. Either way the update is conditional on the row still naming this job.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Field
from django.db.models.expressions import Col

from arq_django.model_tasks.columns import concrete_field, quoted

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from arq_django.model_tasks.model import TaskModel

RETURNING_VENDORS = ("postgresql", "sqlite")


def _returns_rows(connection: BaseDatabaseWrapper) -> bool:
    # Django's flag for INSERT … RETURNING; on these two vendors UPDATE … RETURNING came in the same
    # release (SQLite 3.35).
    return connection.vendor in RETURNING_VENDORS and bool(connection.features.can_return_columns_from_insert)


ASSIGNED = ("status", "started_at", "tries")


@dataclass(frozen=True)
class _Returning:
    """The statement for one model on one database, built once: its SQL and the columns it reads."""

    sql: str
    assigned: tuple[Field[Any, Any], ...]
    fields: tuple[Field[Any, Any], ...]
    cols: tuple[Col, ...]


@functools.lru_cache(maxsize=128)
def _returning(model: type[TaskModel], alias: str) -> _Returning:
    ops, opts = connections[alias].ops, model._meta
    fields = tuple(opts.concrete_fields)
    assigned = tuple(concrete_field(model, name) for name in ASSIGNED)
    sql = (
        f"UPDATE {ops.quote_name(opts.db_table)} "
        f"SET {', '.join(f'{quoted(ops, f)} = %s' for f in assigned)} "
        f"WHERE {quoted(ops, opts.pk)} = %s AND {quoted(ops, concrete_field(model, 'job_id'))} = %s "
        f"RETURNING {', '.join(quoted(ops, f) for f in fields)}"
    )
    return _Returning(sql, assigned, fields, tuple(f.get_col(opts.db_table) for f in fields))


def _update_returning(
    model: type[TaskModel],
    connection: BaseDatabaseWrapper,
    pk: Any,
    job_id: str,
    job_try: int,
    now: dt.datetime,
) -> TaskModel | None:
    statement = _returning(model, connection.alias)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(statement.assigned, ("in_progress", now, job_try), strict=True)
    ]
    params += [model._meta.pk.get_db_prep_value(pk, connection), job_id]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        found = cursor.fetchall()  # read to the end: SQLite commits when the statement is done
    if not found:
        return None
    values = []
    for col, value in zip(statement.cols, found[0], strict=True):
        # Per call: a converter may be bound to this thread's connection.
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in statement.fields], values)


def mark_started(
    model: type[TaskModel], pk: Any, job_id: str, job_try: int, now: dt.datetime
) -> TaskModel | None:
    """The row ``pk`` with ``status`` in_progress, ``started_at`` ``now`` and ``tries`` ``job_try``
    written and read back; ``None`` when it is gone or belongs to another job (nothing written)."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    if _returns_rows(connection):
        return _update_returning(model, connection, pk, job_id, job_try, now)
    manager = model._base_manager.db_manager(alias)
    changed = manager.filter(pk=pk, job_id=job_id).update(status="in_progress", started_at=now, tries=job_try)
    return manager.filter(pk=pk).first() if changed else None
