"""arq_django: the Django integration for the asyncio job queue arq."""

from arq_django.client.abort import aabort, abort
from arq_django.client.enqueue import aenqueue, enqueue, enqueue_on_commit, flush_rows
from arq_django.client.handle import JobHandle, JobState
from arq_django.exceptions import (
    ArqDjangoError,
    EnqueueError,
    EnqueueNotConfirmed,
    InvalidArguments,
    JobFailed,
    JobNotRegistered,
    JobResultTimeout,
    PayloadError,
    RedisUnavailable,
    ResultNotFound,
    Retry,
    SerializationError,
    UnknownQueue,
)
from arq_django.jobs.job_function import JobFunction
from arq_django.jobs.registry import job
from arq_django.worker.extensions import WorkerExtension

__all__ = [
    "ArqDjangoError",
    "EnqueueError",
    "EnqueueNotConfirmed",
    "InvalidArguments",
    "JobFailed",
    "JobFunction",
    "JobHandle",
    "JobNotRegistered",
    "JobResultTimeout",
    "JobState",
    "PayloadError",
    "RedisUnavailable",
    "ResultNotFound",
    "Retry",
    "SerializationError",
    "UnknownQueue",
    "WorkerExtension",
    "aabort",
    "abort",
    "aenqueue",
    "enqueue",
    "enqueue_on_commit",
    "flush_rows",
    "job",
]
