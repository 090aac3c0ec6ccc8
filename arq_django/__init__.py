"""arq_django: the Django integration for the asyncio job queue arq."""

from arq_django.abort import aabort, abort
from arq_django.enqueue import aenqueue, enqueue, enqueue_on_commit
from arq_django.exceptions import ArqDjangoError, EnqueueError, InvalidArguments, JobFailed, JobNotRegistered, JobResultTimeout, RedisUnavailable, ResultNotFound, SerializationError, UnknownQueue
from arq_django.handle import JobHandle, JobState
from arq_django.job_function import JobFunction
from arq_django.registry import job

__all__ = [
    "ArqDjangoError",
    "EnqueueError",
    "InvalidArguments",
    "JobFailed",
    "JobFunction",
    "JobHandle",
    "JobNotRegistered",
    "JobResultTimeout",
    "JobState",
    "RedisUnavailable",
    "ResultNotFound",
    "SerializationError",
    "UnknownQueue",
    "aabort",
    "abort",
    "aenqueue",
    "enqueue",
    "enqueue_on_commit",
    "job",
]
