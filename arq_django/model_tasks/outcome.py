"""Write a try's outcome on its task row: one ``UPDATE … WHERE pk AND job_id AND tries``.

A worker writes one outcome per try, so the statement skips the ORM's query compiler: its SQL and
fields are looked up once per model, database and set of columns, and each value is prepared by its
field, as ``QuerySet.update()`` prepares it. A value the ORM must compile (an expression such as
``F("n") + 1`` that ``do_task`` set on the row) or a field with a placeholder of its own (GIS)
takes ``QuerySet.update()`` itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Field

from arq_django.model_tasks import group_commit
from arq_django.model_tasks.columns import concrete_field, quoted

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from arq_django.model_tasks.model import TaskModel


@dataclass(frozen=True)
class _Statement:
    """The outcome statement for one model, database and set of columns."""

    sql: str
    assigned: tuple[Field[Any, Any], ...]
    where: tuple[Field[Any, Any], ...]
    """pk, job_id, tries."""
    own_placeholder: bool
    """A field places its value itself (GIS): ``QuerySet.update()`` writes it."""


@functools.lru_cache(maxsize=512)
def _statement(model: type[TaskModel], alias: str, attnames: tuple[str, ...]) -> _Statement:
    ops, opts = connections[alias].ops, model._meta
    assigned = tuple(concrete_field(model, name) for name in attnames)
    where = (opts.pk, concrete_field(model, "job_id"), concrete_field(model, "tries"))
    sql = (
        f"UPDATE {ops.quote_name(opts.db_table)} "
        f"SET {', '.join(f'{quoted(ops, f)} = %s' for f in assigned)} "
        f"WHERE {' AND '.join(f'{quoted(ops, f)} = %s' for f in where)}"
    )
    return _Statement(sql, assigned, where, any(hasattr(f, "get_placeholder") for f in assigned))


def write_outcome(model: type[TaskModel], pk: Any, job_id: str, job_try: int, values: dict[str, Any]) -> bool:
    """Write ``values`` (by attname) on row ``pk`` if it still names ``job_id`` and try ``job_try``;
    whether it did."""
    alias = router.db_for_write(model)
    statement = _statement(model, alias, tuple(values))
    if statement.own_placeholder or any(hasattr(v, "resolve_expression") for v in values.values()):
        manager = model._base_manager.db_manager(alias)
        return bool(manager.filter(pk=pk, job_id=job_id, tries=job_try).update(**values))
    connection = connections[alias]
    params = [
        f.get_db_prep_save(value, connection)
        for f, value in zip(statement.assigned, values.values(), strict=True)
    ]
    params += [
        f.get_db_prep_value(v, connection)
        for f, v in zip(statement.where, (pk, job_id, job_try), strict=True)
    ]

    def update(connection: BaseDatabaseWrapper) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            return bool(cursor.rowcount)

    return group_commit.write(alias, update)
