"""A task model's concrete fields and quoted column names, for the worker's hand-built statements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Field

if TYPE_CHECKING:
    from django.db.backends.base.operations import BaseDatabaseOperations

    from arq_django.model_tasks.model import TaskModel


def concrete_field(model: type[TaskModel], name: str) -> Field[Any, Any]:
    """The field ``name`` (an attname too: ``owner_id``) of ``model``."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # the row's own concrete fields
    return field


def quoted(ops: BaseDatabaseOperations, field: Field[Any, Any]) -> str:
    """``field``'s column, quoted for the database of ``ops``."""
    assert field.column is not None  # concrete fields have a column
    return ops.quote_name(field.column)
