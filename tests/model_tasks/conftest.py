"""The SQL a task row's write runs, on whichever connection runs it (a SQLite file's writer thread's)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from arq_django.model_tasks import group_commit


@pytest.fixture
def row_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each statement of every row write from here on, in order, with whether it ran grouped:
    ``"grouped: UPDATE …"`` on a database's writer thread, ``"direct: UPDATE …"`` on the caller's."""
    statements: list[str] = []
    write = group_commit.write

    def traced(alias: str, work: group_commit.Work[Any]) -> Any:
        def run(connection: Any) -> Any:
            on_writer = threading.current_thread().name.startswith(group_commit.THREAD_PREFIX)
            how = "grouped" if on_writer else "direct"

            def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                statements.append(f"{how}: {sql}")
                return execute(sql, params, many, context)

            with connection.execute_wrapper(record):
                return work(connection)

        return write(alias, run)

    monkeypatch.setattr(group_commit, "write", traced)
    return statements
