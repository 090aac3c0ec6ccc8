"""One vocabulary (issue 15): every error arq_django raises of its own lives in ``arq_django.exceptions``
under ``ArqDjangoError``, and none shares a name with arq's errors or with our models."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import arq.connections
import arq.jobs
import arq.worker

import arq_django
from arq_django import exceptions, models

PACKAGE = Path(arq_django.__file__).resolve().parent


def _exception_classes_outside_exceptions_py() -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "exceptions.py" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b).endswith(("Error", "Exception", "Refused", "Failed", "Message", "Request"))
                for b in node.bases
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    return found


def _ours() -> dict[str, type[BaseException]]:
    return {
        name: obj
        for name, obj in vars(exceptions).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == exceptions.__name__
    }


def test_every_error_is_declared_in_exceptions_py():
    assert _exception_classes_outside_exceptions_py() == []


def test_every_error_is_an_arq_django_error():
    assert {n for n, cls in _ours().items() if not issubclass(cls, exceptions.ArqDjangoError)} == set()


def test_no_error_name_clashes_with_arq_or_our_models():
    arq_names = {
        name
        for module in (arq.jobs, arq.worker, arq.connections)
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    }
    model_names = {name for name, obj in vars(models).items() if inspect.isclass(obj)}
    canonical = {cls.__name__ for cls in _ours().values()}
    # ResultNotFound is kept: JobHandle raises it exactly where arq's Job raises arq's (no result yet,
    # or it expired), so the one name means the one thing; it is public API since the first release.
    assert canonical & (arq_names | model_names) == {"ResultNotFound"}


def test_the_old_serialization_error_name_still_works():
    """Kept so users' ``except arq_django.SerializationError`` still catches what enqueue raises."""
    assert arq_django.SerializationError is arq_django.PayloadError is exceptions.PayloadError
    assert "SerializationError" in arq_django.__all__ and "PayloadError" in arq_django.__all__


def test_moved_errors_keep_their_builtin_bases():
    assert issubclass(exceptions.CronSpecError, ValueError)
    assert issubclass(exceptions.MalformedMessage, ValueError)
    assert exceptions.MalformedMessage("why").reason == "why"
    assert exceptions.CheckFailed("down", {"a": 1}).details == {"a": 1}
