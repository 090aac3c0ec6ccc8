"""Fill rows from arq's result records (``arq:result:<job_id>``): after a worker died with rows unwritten,
or rows were dropped during a long database outage.

Keys are found with ``SCAN MATCH`` (never ``KEYS``), in batches; a batch costs one query for the ids
whose rows are already finished, one ``MGET`` for the others and one upsert. Only finished states come
from result records, and a finished row is never overwritten by a lesser write, so reconcile can run
at any time, on any number of workers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final, cast

import redis

from arq_django import keys
from arq_django.client.wire import decode_result
from arq_django.exceptions import JobFailed
from arq_django.keys import result_key_prefix
from arq_django.mirror.clean import fit_id
from arq_django.mirror.rows import RowUpdate
from arq_django.mirror.writer import database_for_writes, upsert
from arq_django.models import JobResult
from arq_django.serializers import Loads, get_serializer

logger = logging.getLogger("arq_django.mirror")

LOCK_KEY: Final = keys.RECONCILE_LOCK
SCAN_COUNT: Final = 1000
BATCH: Final = 400


def _error(result: object) -> str:
    if isinstance(result, JobFailed):
        # JSON results keep the exception's dotted type name; rows use the bare name, like the worker.
        name = result.exc_type.rsplit(".", 1)[-1]
        return f"{name}: {result.message}" if result.message else name
    if isinstance(result, BaseException):
        message = str(result)
        return f"{type(result).__name__}: {message}" if message else type(result).__name__
    return str(result)


def row_from_result(job_id: str, raw: bytes, loads: Loads) -> RowUpdate | None:
    """The finished row a result record describes; ``None`` (logged) when it cannot be decoded."""
    try:
        info = decode_result(raw, loads)
    except Exception as e:
        logger.warning("reconcile: the result of job %s cannot be decoded (%s); skipped", job_id, e)
        return None
    if info.success:
        status, result, error = JobResult.Status.COMPLETE, info.result, ""
    elif isinstance(info.result, asyncio.CancelledError):
        status, result, error = JobResult.Status.ABORTED, None, "aborted"
    else:
        status, result, error = JobResult.Status.FAILED, None, _error(info.result)
    return RowUpdate(
        job_id=job_id,
        status=status,
        tries=info.job_try or 1,
        function=info.function if isinstance(info.function, str) else "",
        queue_name="" if info.queue_name == "<unknown>" else info.queue_name,
        args=tuple(info.args) if isinstance(info.args, (list, tuple)) else None,
        kwargs=info.kwargs if isinstance(info.kwargs, dict) else None,
        result=result,
        error=error,
        enqueued_at=info.enqueue_time if info.enqueue_time.timestamp() > 0 else None,
        started_at=info.start_time,
        finished_at=info.finish_time,
    )


def _fill(client: redis.Redis, keys: list[bytes], loads: Loads, using: str) -> int:
    # Ids as the rows hold them: a key that is not UTF-8, or an id the row cannot hold as it is, must
    # neither stop the pass nor be looked up (and rewritten) under another id each time.
    ids = [key[len(result_key_prefix) :].decode("utf-8", "backslashreplace") for key in keys]
    stored = [fit_id(job_id) for job_id in ids]
    finished = set(
        JobResult.objects.using(using)
        .filter(job_id__in=stored, status__in=JobResult.FINISHED)
        .order_by()
        .values_list("job_id", flat=True)
    )
    todo = [
        (key, job_id) for key, job_id, row_id in zip(keys, ids, stored, strict=True) if row_id not in finished
    ]
    if not todo:
        return 0
    raws = cast(list[bytes | None], client.mget([key for key, _ in todo]))
    rows = [
        row
        for (_, job_id), raw in zip(todo, raws, strict=True)
        if raw and (row := row_from_result(job_id, raw, loads)) is not None
    ]
    return upsert(rows, using)


def reconcile(client: redis.Redis, *, lock_for: float | None = None, using: str | None = None) -> int:
    """Write a finished row for every result in Redis whose row is missing or unfinished; returns how
    many. With ``lock_for`` (seconds), skip the pass if another worker ran one within that time."""
    if lock_for and not client.set(LOCK_KEY, b"1", nx=True, px=round(lock_for * 1000)):
        return 0
    alias = using or database_for_writes()
    loads = get_serializer().loads
    written = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=result_key_prefix + "*", count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= BATCH:
            written += _fill(client, batch, loads, alias)
            batch = []
    if batch:
        written += _fill(client, batch, loads, alias)
    if written:
        logger.info("result mirror: reconcile filled %d rows from arq's results", written)
    return written
