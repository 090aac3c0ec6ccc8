"""Mark a task row started and load it, with raw SQL built once per model and database.

PostgreSQL runs ``UPDATE … WHERE pk AND job_id … RETURNING <every column>``: the row is claimed for
this try and read back fresh in one round trip and one commit. On a SQLite file the mark goes to the
database's writer thread (:mod:`~arq_django.model_tasks.group_commit`), which commits it in a group
with the other threads' row writes; there it uses ``RETURNING`` too, as the group's transaction holds
the write lock anyway. A SQLite mark inside ``atomic()`` runs the ``UPDATE`` alone, then a ``SELECT``:
on its own, ``RETURNING`` would keep the write lock until Python has fetched the row, across a wait
for the GIL while the worker's other threads sleep in SQLite's busy handler. Other databases take
the same two statements through the ORM. Either way the update is conditional on the row still
naming this job.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Field
from django.db.models.expressions import Col

from arq_django.model_tasks import group_commit
from arq_django.model_tasks.columns import concrete_field, quoted

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from arq_django.model_tasks.model import TaskModel

RAW_VENDORS = ("postgresql", "sqlite")
"""Vendors whose statements are built here; the others go through the ORM."""


def _returns_rows(connection: BaseDatabaseWrapper) -> bool:
    """Whether the mark reads the row back with ``RETURNING``: on PostgreSQL, and on SQLite (3.35+)
    when the write is grouped (see the module docstring)."""
    if connection.vendor == "postgresql":
        return True
    return group_commit.grouped(connection) and bool(connection.features.can_return_columns_from_insert)


ASSIGNED = ("status", "started_at", "tries")


@dataclass(frozen=True)
class _Statements:
    """The mark for one model on one database, built once: its SQL and the columns it reads."""

    returning: str
    """The ``UPDATE … RETURNING`` every column, where :func:`_returns_rows`."""
    update: str
    """The ``UPDATE`` alone, followed by :attr:`select` where the row does not come back with it."""
    select: str
    """The ``SELECT`` of the row by pk."""
    assigned: tuple[Field[Any, Any], ...]
    fields: tuple[Field[Any, Any], ...]
    cols: tuple[Col, ...]


@functools.lru_cache(maxsize=128)
def _statements(model: type[TaskModel], alias: str) -> _Statements:
    connection = connections[alias]
    ops, opts = connection.ops, model._meta
    fields = tuple(opts.concrete_fields)
    assigned = tuple(concrete_field(model, name) for name in ASSIGNED)
    table, columns = ops.quote_name(opts.db_table), ", ".join(quoted(ops, f) for f in fields)
    update = (
        f"UPDATE {table} SET {', '.join(f'{quoted(ops, f)} = %s' for f in assigned)} "
        f"WHERE {quoted(ops, opts.pk)} = %s AND {quoted(ops, concrete_field(model, 'job_id'))} = %s"
    )
    return _Statements(
        f"{update} RETURNING {columns}",
        update,
        f"SELECT {columns} FROM {table} WHERE {quoted(ops, opts.pk)} = %s",
        assigned,
        fields,
        tuple(f.get_col(opts.db_table) for f in fields),
    )


def _mark_raw(
    model: type[TaskModel],
    connection: BaseDatabaseWrapper,
    pk: Any,
    job_id: str,
    job_try: int,
    now: dt.datetime,
) -> TaskModel | None:
    statement = _statements(model, connection.alias)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(statement.assigned, ("in_progress", now, job_try), strict=True)
    ]
    db_pk = model._meta.pk.get_db_prep_value(pk, connection)
    returning = _returns_rows(connection)

    def claim(connection: BaseDatabaseWrapper) -> list[Any]:
        with connection.cursor() as cursor:
            if returning:
                cursor.execute(statement.returning, [*params, db_pk, job_id])
                return list(cursor.fetchall())
            cursor.execute(statement.update, [*params, db_pk, job_id])
            if not cursor.rowcount:
                return []
            cursor.execute(statement.select, [db_pk])
            return list(cursor.fetchall())

    found = group_commit.write(connection.alias, claim)
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
    if connection.vendor in RAW_VENDORS:
        return _mark_raw(model, connection, pk, job_id, job_try, now)
    manager = model._base_manager.db_manager(alias)
    changed = manager.filter(pk=pk, job_id=job_id).update(status="in_progress", started_at=now, tries=job_try)
    return manager.filter(pk=pk).first() if changed else None
