"""Durable enqueue (``ENQUEUE_WAIT_REPLICAS``): Redis ``WAIT`` right after the job's transaction.

``WAIT`` counts the replicas that acknowledged the *calling connection's* last write, and inside
``MULTI`` it never blocks, so it must follow ``EXEC`` on the very connection that ran the transaction.
redis-py's pipelines release their connection when ``execute()`` returns; these subclasses send ``WAIT``
inside ``_execute_transaction``, while the connection is still theirs.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline

from arq_django.conf import get_config
from arq_django.exceptions import EnqueueNotConfirmed


class ConfirmedPipeline(Pipeline):
    """A transaction pipeline that asks ``WAIT replicas timeout_ms`` after ``EXEC``; ``acked`` holds
    the answer (``None`` if ``WAIT`` failed, ``wait_error`` then says why)."""

    replicas = 0
    timeout_ms = 0
    acked: int | None = None
    wait_error: BaseException | None = None

    def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: Any) -> list[Any]:
        result: list[Any] = super()._execute_transaction(connection, commands, raise_on_error)
        try:
            connection.send_command("WAIT", self.replicas, self.timeout_ms)
            self.acked = int(connection.read_response())
        except (redis.RedisError, OSError) as e:  # written, not confirmed: never retry the write
            self.wait_error = e
        return result


class AsyncConfirmedPipeline(AsyncPipeline):
    """:class:`ConfirmedPipeline` for redis.asyncio."""

    replicas = 0
    timeout_ms = 0
    acked: int | None = None
    wait_error: BaseException | None = None

    async def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: Any) -> list[Any]:
        result: list[Any] = await super()._execute_transaction(connection, commands, raise_on_error)
        try:
            await connection.send_command("WAIT", self.replicas, self.timeout_ms)
            self.acked = int(await connection.read_response())
        except (redis.RedisError, OSError) as e:
            self.wait_error = e
        return result


def confirmed_pipeline(client: Any, replicas: int, timeout_ms: int) -> Any:
    """A transaction pipeline on ``client``'s pool (sync or asyncio) that confirms its write with
    ``WAIT``; a plain ``client.pipeline()`` when ``replicas`` is 0."""
    if not replicas:
        return client.pipeline(transaction=True)
    cls = AsyncConfirmedPipeline if isinstance(client, redis.asyncio.Redis) else ConfirmedPipeline
    pipe = cls(client.connection_pool, client.response_callbacks, True, None)
    pipe.replicas, pipe.timeout_ms = replicas, timeout_ms
    return pipe


def write_pipeline(client: Any) -> Any:
    """A job's transaction; with ``ENQUEUE_WAIT_REPLICAS`` it also waits for replicas to have it."""
    config = get_config()
    return confirmed_pipeline(client, config.enqueue_wait_replicas, round(config.enqueue_wait_timeout * 1000))


def check_confirmed(pipe: Any, plan: Any) -> None:
    """Raise :class:`EnqueueNotConfirmed` when fewer replicas than ``ENQUEUE_WAIT_REPLICAS`` have the
    job ``plan`` wrote (after its write: the job is on the primary and may run, or be lost in a
    failover)."""
    from arq_django.connection import server_for

    needed = getattr(pipe, "replicas", 0)
    acked = getattr(pipe, "acked", None)
    if not needed or (acked is not None and acked >= needed):
        return
    why = f"WAIT failed: {pipe.wait_error}" if acked is None else f"{acked} confirmed within the timeout"
    raise EnqueueNotConfirmed(
        f"job {plan.job_id} ({plan.function!r}, queue {plan.queue_name!r}) was written on the primary at "
        f"{server_for(plan.queue_name).label} but not confirmed by {needed} replica(s) ({why}); it may run, "
        "or be lost if the primary fails over now. Enqueue it again with the same _job_id once the replicas "
        "are back (a duplicate id is refused, so it cannot run twice), or lower "
        "ARQ_DJANGO['ENQUEUE_WAIT_REPLICAS'] / raise ENQUEUE_WAIT_TIMEOUT.",
        job_id=plan.job_id,
    )
