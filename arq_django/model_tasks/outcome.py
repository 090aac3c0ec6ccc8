"""Write a try's outcome on its task row: one ``UPDATE … WHERE pk AND job_id AND tries``.

A worker writes one outcome per try, so the statement skips the ORM's query compiler: its SQL is
built once per model, database and set of columns, and each value is prepared by its field, as
``QuerySet.update()`` prepares it. A value the ORM must compile (an expression such as
``F("n") + 1`` that ``do_task`` set on the row) or a field with a placeholder of its own (GIS)
takes ``QuerySet.update()`` itself.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Field

if TYPE_CHECKING:
    from arq_django.model_tasks.model import TaskModel


def _fields(model: type[TaskModel], attnames: tuple[str, ...]) -> list[Field[Any, Any]]:
    fields = []
    for name in attnames:
        field = model._meta.get_field(name)  # attnames too (``owner_id``)
        assert isinstance(field, Field)  # concrete fields: the row's own values
        fields.append(field)
    return fields


@functools.lru_cache(maxsize=512)
def _statement(model: type[TaskModel], alias: str, attnames: tuple[str, ...]) -> str:
    ops, opts = connections[alias].ops, model._meta

    def column(field: Field[Any, Any]) -> str:
        assert field.column is not None  # concrete fields have a column
        return ops.quote_name(field.column)

    assigned = ", ".join(f"{column(f)} = %s" for f in _fields(model, attnames))
    where = " AND ".join(f"{column(f)} = %s" for f in (opts.pk, *_fields(model, ("job_id", "tries"))))
    return f"UPDATE {ops.quote_name(opts.db_table)} SET {assigned} WHERE {where}"


def _compiled_by_orm(fields: list[Field[Any, Any]], values: dict[str, Any]) -> bool:
    return any(hasattr(v, "resolve_expression") for v in values.values()) or any(
        hasattr(f, "get_placeholder") for f in fields
    )


def write_outcome(model: type[TaskModel], pk: Any, job_id: str, job_try: int, values: dict[str, Any]) -> bool:
    """Write ``values`` (by attname) on row ``pk`` if it still names ``job_id`` and try ``job_try``;
    whether it did."""
    alias = router.db_for_write(model)
    attnames = tuple(values)
    fields = _fields(model, attnames)
    if _compiled_by_orm(fields, values):
        manager = model._base_manager.db_manager(alias)
        return bool(manager.filter(pk=pk, job_id=job_id, tries=job_try).update(**values))
    connection = connections[alias]
    params = [f.get_db_prep_save(value, connection) for f, value in zip(fields, values.values(), strict=True)]
    job_id_field, tries_field = _fields(model, ("job_id", "tries"))
    params += [
        model._meta.pk.get_db_prep_value(pk, connection),
        job_id_field.get_db_prep_value(job_id, connection),
        tries_field.get_db_prep_value(job_try, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(model, alias, attnames), params)
        return bool(cursor.rowcount)
