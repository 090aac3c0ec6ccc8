"""Write a batch of row updates in one transaction, so that no row ever goes backwards.

``INSERT ... ON CONFLICT (job_id) DO UPDATE ... WHERE excluded.rank >= stored.rank`` (PostgreSQL and
SQLite ≥ 3.24 share the syntax): the rank comparison happens inside the database, row by row and
atomically, so concurrent writers (several workers, reconcile, a late flush) cannot reopen a finished
row, with no read before the write and no row locks held across statements. Django's
``bulk_create(update_conflicts=True)`` cannot express the ``WHERE``, hence raw SQL here. Unknown values
(``NULL``, or ``''`` for text) keep what is stored (``COALESCE``).

The rows travel as one JSON document, taken apart by the database (``jsonb_array_elements`` on
PostgreSQL, ``json_each`` on SQLite): the worker's mirror thread shares the GIL with the event loop,
so the Python spent per row is the cost that counts.

Bad values never block a batch: a batch that may hold a NUL, a lone surrogate or an over-long id is
cleaned first (:mod:`~arq_django.mirror.clean`), and a batch the database still refuses for its data is
split in halves until the refused row is alone; that row is set aside: written with its unwritable
values replaced and a note in its ``error``, and logged. The other rows are written as they are.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from django.conf import settings
from django.db import DataError, IntegrityError, NotSupportedError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from arq_django.mirror.clean import MAX_CHARS, Cleaned, clean_row, fit_id, looks_unwritable, set_aside
from arq_django.mirror.rows import TEXT_FIELDS, RowUpdate
from arq_django.models import JobResult
from arq_django.serializers import strict_json, to_json_data

logger = logging.getLogger("arq_django.mirror")
_job_id = operator.itemgetter(0)  # RowUpdate.job_id, read in C

COLUMNS: Final = (*RowUpdate._fields, "rank")
"""The values sent for each row, in this order: the update's own, then its rank."""
_ALWAYS: Final = frozenset({"status", "rank", "tries"})
SUPPORTED_VENDORS: Final = ("postgresql", "sqlite")
REFUSALS: Final = (DataError, IntegrityError, ValueError, OverflowError)
"""What a database (or its driver) raises for a value it cannot take; an outage raises others."""


def _fields() -> list[Field[Any, Any]]:
    return [JobResult._meta.get_field(name) for name in COLUMNS]  # type: ignore[misc]


@functools.cache
def _positions(internal_type: str) -> tuple[int, ...]:
    """Where in :data:`COLUMNS` the fields of one kind (``JSONField``, ``DateTimeField``) stand."""
    return tuple(i for i, field in enumerate(_fields()) if field.get_internal_type() == internal_type)


def _set_clause(name: str, column: str, table: str) -> str:
    new, old = f"EXCLUDED.{column}", f"{table}.{column}"
    if name in _ALWAYS:
        return f"{column} = {new}"
    known = f"NULLIF({new}, '')" if name in TEXT_FIELDS else new
    if name == "finished_at":
        # A new try has started: the previous try's finish time no longer describes the row.
        started = f"EXCLUDED.{_q('status')} = 'in_progress'"
        return f"{column} = CASE WHEN {started} THEN NULL ELSE COALESCE({new}, {old}) END"
    return f"{column} = COALESCE({known}, {old})"


def _q(name: str) -> str:
    return f'"{name}"'  # the columns are plain lowercase names; both backends quote with "


def _upsert_sql(table: str, select: str) -> str:
    """``INSERT`` the rows ``select`` yields (in :data:`COLUMNS` order); a stored row is updated only by
    a write of at least its rank."""
    table = _q(table)
    sets = ", ".join(_set_clause(name, _q(name), table) for name in COLUMNS if name != "job_id")
    rank = _q("rank")
    return (
        f"INSERT INTO {table} ({', '.join(_q(name) for name in COLUMNS)}) {select} "
        f"ON CONFLICT ({_q('job_id')}) DO UPDATE SET {sets} WHERE EXCLUDED.{rank} >= {table}.{rank}"
    )


# -- the batch: one JSON array of arrays, whichever the backend ---------------------------------------
# One json.dumps (C) on our side instead of adapting every value in Python while the worker's event
# loop waits for the GIL; the database takes the document apart (the GIL released meanwhile).

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def _time_encoder(wall_in: dt.tzinfo | None) -> Callable[[dt.datetime], int]:
    """Microseconds since the epoch: of the instant (``wall_in=None``), or of the wall time in
    ``wall_in`` (SQLite stores naive text in the connection's zone). Naive values are taken to be in
    the current time zone, as Django takes them."""
    default = timezone.get_current_timezone()

    def encode(value: dt.datetime) -> int:
        if value.tzinfo is None:
            value = value.replace(tzinfo=default)
        if wall_in is not None and value.tzinfo is not wall_in:
            value = value.astimezone(wall_in).replace(tzinfo=dt.UTC)
        return (value - _EPOCH) // _MICROSECOND

    return encode


def _batch(
    rows: Sequence[RowUpdate], json_value: Callable[[Any], Any], time_value: Callable[[dt.datetime], int]
) -> str:
    """``rows`` as one JSON array of arrays, values in :data:`COLUMNS` order; unknown values are
    ``null``."""
    json_at, time_at = _positions("JSONField"), _positions("DateTimeField")
    batch = []
    for row in rows:
        values = [*row, row.rank]
        for i in json_at:
            if values[i] is not None:
                values[i] = json_value(values[i])
        for i in time_at:
            if values[i] is not None:
                values[i] = time_value(values[i])
        batch.append(values)
    try:
        return json.dumps(batch, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # NaN or an infinity in a JSON value (a handler's result, say): rare, so looked for only now,
        # and kept as its repr, as are other values JSON cannot hold. Not fixed, the whole batch
        # would be refused again and again.
        for values in batch:
            for i in json_at:
                values[i] = strict_json(values[i])
        return json.dumps(batch, separators=(",", ":"), allow_nan=False)


@functools.cache
def _postgresql_sql(table: str, types: tuple[str, ...]) -> str:
    """An unknown JSON value arrives as JSON ``null`` and becomes SQL ``NULL`` (keep the stored)."""
    json_at, time_at = _positions("JSONField"), _positions("DateTimeField")
    values = []
    for i, db_type in enumerate(types):
        if i in json_at:
            values.append(f"NULLIF(e->{i}, 'null'::jsonb)")
        elif i in time_at:
            values.append(f"TIMESTAMPTZ 'epoch' + (e->>{i})::bigint * INTERVAL '1 microsecond'")
        else:
            values.append(f"(e->>{i})::{db_type}")
    return _upsert_sql(table, f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS e")


def _column_types(connection: BaseDatabaseWrapper) -> tuple[str, ...]:
    """Each column's PostgreSQL type without length (``varchar(255)`` → ``varchar``), for the casts."""
    return tuple(str(field.db_type(connection)).split("(")[0] for field in _fields())


@functools.cache
def _sqlite_sql(table: str) -> str:
    """JSON values travel as JSON text (what ``JSONField`` stores); times as wall-clock microseconds,
    formatted the way Django writes them (``str()`` of a naive datetime: no fraction when it is 0).

    No literal ``%`` anywhere (no ``strftime``, ``printf`` or ``%`` operator): under ``DEBUG = True``
    Django's debug cursor %-formats the statement for its query log, and a stray ``%Y`` fails the
    whole batch there."""
    time_at = _positions("DateTimeField")
    extract = ", ".join(f"json_extract(value, '$[{i}]') AS c{i}" for i in range(len(COLUMNS)))
    values = []
    for i in range(len(COLUMNS)):
        if i in time_at:
            c = f"c{i}"
            fraction = f"{c} - {c} / 1000000 * 1000000"
            values.append(
                f"datetime({c} / 1000000, 'unixepoch') "
                f"|| CASE WHEN {fraction} THEN '.' || substr(1000000 + ({fraction}), 2) ELSE '' END"
            )
        else:
            values.append(f"c{i}")
    # WHERE true: SQLite's parser needs it to tell the upsert clause from a join.
    return _upsert_sql(
        table, f"SELECT {', '.join(values)} FROM (SELECT {extract} FROM json_each(%s)) WHERE true"
    )


def _postgresql_json(value: Any) -> Any:
    return value.data if type(value) is Cleaned else to_json_data(value)


def _sqlite_json(value: Any) -> str:
    """What ``JSONField`` stores; NaN and infinities as their repr (SQLite's ``JSON_VALID`` check).
    Not ASCII-escaped: the batch escapes it once, so :func:`~.clean.looks_unwritable` reads one level."""
    data = value.data if type(value) is Cleaned else to_json_data(value)
    try:
        return json.dumps(data, allow_nan=False, ensure_ascii=False)
    except ValueError:
        return json.dumps(strict_json(data), ensure_ascii=False)


def _sqlite_wall_zone(connection: BaseDatabaseWrapper) -> dt.tzinfo:
    """The zone SQLite's naive datetime text is in: the connection's with ``USE_TZ``, else the default."""
    zone = (connection.timezone if settings.USE_TZ else None) or timezone.get_default_timezone()
    return dt.UTC if zone is dt.UTC or getattr(zone, "key", None) == "UTC" else zone


def database_for_writes() -> str:
    return router.db_for_write(JobResult) or "default"


def check_vendor(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor not in SUPPORTED_VENDORS:
        raise NotSupportedError(
            f"the arq_django result mirror writes with INSERT ... ON CONFLICT, which it supports on "
            f"PostgreSQL and SQLite, not on {connection.vendor!r}; set ARQ_DJANGO['MIRROR'] = False."
        )


def upsert(updates: Iterable[RowUpdate], using: str | None = None) -> int:
    """Write ``updates`` (at most one per job id); returns how many rows were written.

    One transaction, unless the database refuses a value: then the batch is written in parts, the
    refused row set aside (see the module docstring). Any other error (the database down, say) is
    raised unchanged; the part it interrupted is not written (parts before it are, which a retry of the
    whole batch rewrites harmlessly: no row goes backwards).
    """
    # A fixed order: two transactions writing overlapping rows lock them in the same order (no deadlock).
    rows = sorted(updates, key=lambda row: row.job_id)
    if not rows:
        return 0
    alias = using or database_for_writes()
    check_vendor(connections[alias])
    return _write(rows, alias)


def _write(rows: list[RowUpdate], alias: str) -> int:
    try:
        _execute(rows, alias)
    except REFUSALS as e:
        if len(rows) == 1:
            return _set_aside(rows[0], alias, e)
        half = len(rows) // 2
        return _write(rows[:half], alias) + _write(rows[half:], alias)
    return len(rows)


def _execute(rows: list[RowUpdate], alias: str) -> None:
    connection = connections[alias]
    table = JobResult._meta.db_table
    # A savepoint when the caller holds a transaction: a refused batch must leave it usable.
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            encode: tuple[Callable[[Any], Any], Callable[[dt.datetime], int]] = (
                _postgresql_json,
                _time_encoder(None),
            )
            sql = _postgresql_sql(table, _column_types(connection))
        else:
            encode = (_sqlite_json, _time_encoder(_sqlite_wall_zone(connection)))
            sql = _sqlite_sql(table)
        batch = _batch(rows, *encode)
        if looks_unwritable(batch) or max(map(len, map(_job_id, rows))) > MAX_CHARS:
            batch = _batch([clean_row(row, to_json_data)[0] for row in rows], *encode)
        cursor.execute(sql, [batch])


def _set_aside(row: RowUpdate, alias: str, refusal: BaseException) -> int:
    why = _describe(refusal)
    job = fit_id(row.job_id)
    for bare in (False, True):
        try:
            _execute([set_aside(row, to_json_data, why, bare=bare)], alias)
        except REFUSALS as e:
            why = f"{why}; then {_describe(e)}"
            continue
        logger.error(
            "result mirror: the database refused the row of job %r (%s); it was written with its "
            "unwritable values replaced and a note in its error, the rest of the batch as it was",
            job,
            why,
        )
        return 1
    logger.error("result mirror: the row of job %r cannot be written at all (%s); skipped", job, why)
    return 0


def _describe(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
