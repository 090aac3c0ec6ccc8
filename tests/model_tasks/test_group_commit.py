"""A SQLite file's writer thread for task rows: writes that wait together commit in one transaction,
each caller is answered only once its write is committed, a write that fails fails only its own
caller, and a caller inside ``atomic()``, or a database that is not a SQLite file, writes on its own
connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, models, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

from arq_django.model_tasks import group_commit
from tests.model_tasks_app.models import Export

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = Export._meta.db_table


@pytest.fixture
def sqlite_file() -> None:
    if not group_commit.grouped(connections["default"]):
        pytest.skip(f"task rows on {connection.vendor} are written on the caller's connection")


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch the writer thread writes, in order."""
    sizes: list[int] = []
    write_batch = group_commit._write_batch

    def counted(alias: str, batch: list[Any]) -> None:
        sizes.append(len(batch))
        write_batch(alias, batch)

    monkeypatch.setattr(group_commit, "_write_batch", counted)
    return sizes


def _rows(n: int) -> list[Export]:
    return models.QuerySet(Export).bulk_create([Export(name=f"row-{i}") for i in range(n)])


def _rename(pk: int, name: str) -> group_commit.Work[int]:
    def work(conn: Any) -> int:
        with conn.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET name = %s WHERE id = %s", [name, pk])
            return int(cursor.rowcount)

    return work


def _poll(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.005)


class Callers:
    """Threads that each hand one write to the writer and record what came back, and what their own
    connection reads right after."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.seen: dict[str, str | None] = {}
        self.threads: list[threading.Thread] = []

    def start(self, key: str, work: group_commit.Work[Any], pk: int) -> None:
        def run() -> None:
            try:
                self.answers[key] = group_commit.write("default", work)
            except Exception as e:
                self.answers[key] = e
            self.seen[key] = Export.objects.filter(pk=pk).values_list("name", flat=True).first()
            connections.close_all()

        thread = threading.Thread(target=run)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
            assert not thread.is_alive()


def _hold_the_writer(callers: Callers, pk: int) -> threading.Event:
    """Start a write that keeps the writer thread busy until the returned event is set."""
    entered, gate = threading.Event(), threading.Event()
    rename = _rename(pk, "first")

    def first(conn: Any) -> int:
        entered.set()
        assert gate.wait(10)
        return rename(conn)

    callers.start("first", first, pk)
    assert entered.wait(10)
    return gate


def _waiting(n: int) -> None:
    writer = group_commit._writers["default"]
    _poll(lambda: len(writer._pending) == n, f"{n} writes waiting for the writer thread")


@pytest.mark.usefixtures("sqlite_file")
def test_writes_that_wait_together_commit_in_one_transaction(batches):
    rows = _rows(4)
    callers = Callers()
    gate = _hold_the_writer(callers, rows[0].pk)
    for row in rows[1:]:
        callers.start(row.name, _rename(row.pk, f"{row.name} done"), row.pk)
    _waiting(3)
    gate.set()
    callers.join()
    assert batches == [1, 3]
    assert callers.answers == {"first": 1, "row-1": 1, "row-2": 1, "row-3": 1}
    # Each caller's own connection reads its write the moment it is answered: committed before that.
    assert callers.seen == {"first": "first", **{r.name: f"{r.name} done" for r in rows[1:]}}


@pytest.mark.usefixtures("sqlite_file")
def test_a_write_that_fails_fails_only_its_own_caller(batches):
    rows = _rows(4)
    callers = Callers()
    gate = _hold_the_writer(callers, rows[0].pk)

    def broken(conn: Any) -> int:
        with conn.cursor() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET no_such_column = 1 WHERE id = %s", [rows[2].pk])
        return 1

    callers.start("ok-1", _rename(rows[1].pk, "ok"), rows[1].pk)
    callers.start("broken", broken, rows[2].pk)
    callers.start("ok-3", _rename(rows[3].pk, "ok"), rows[3].pk)
    _waiting(3)
    gate.set()
    callers.join()
    assert isinstance(callers.answers.pop("broken"), DatabaseError)
    assert callers.answers == {"first": 1, "ok-1": 1, "ok-3": 1}
    assert batches == [1, 3, 1, 1, 1]  # the batch rolled back, then each write alone
    names = dict(Export.objects.values_list("pk", "name"))
    assert [names[r.pk] for r in rows] == ["first", "ok", "row-2", "ok"]


@pytest.mark.usefixtures("sqlite_file")
def test_inside_a_transaction_the_write_rides_on_the_callers_own(batches):
    (row,) = _rows(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert not group_commit.grouped(connections["default"])
        assert group_commit.write("default", _rename(row.pk, "inside")) == 1
        assert Export.objects.get(pk=row.pk).name == "inside"
        raise RuntimeError("roll back")
    assert batches == []
    assert Export.objects.get(pk=row.pk).name == "row-0"  # rolled back with the caller's transaction


def test_postgresql_writes_on_the_callers_connection():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL")
    assert not group_commit.grouped(connections["default"])


def test_an_in_memory_sqlite_database_is_not_grouped():
    memory = SQLiteWrapper({**connections["default"].settings_dict, "NAME": ":memory:"}, alias="memory")
    assert not group_commit.grouped(memory)


@pytest.mark.usefixtures("sqlite_file")
def test_the_writer_thread_lets_go_of_its_connection_when_idle(monkeypatch):
    monkeypatch.setattr(group_commit, "IDLE_CLOSE_S", 0.05)

    def the_connection(conn: Any) -> Any:
        conn.ensure_connection()
        return conn

    group_commit.write("default", lambda conn: None)  # a wait already under way ends on the new timeout
    used = group_commit.write("default", the_connection)
    _poll(lambda: used.connection is None, "the idle writer thread closed its connection")
