"""arq_django: the Django integration for the asyncio job queue arq."""

from .abort import aabort, abort
from .enqueue import aenqueue, enqueue, enqueue_on_commit
from .exceptions import (
    ArqDjangoError,
    EnqueueError,
    InvalidArguments,
    JobFailed,
    JobNotRegistered,
    JobResultTimeout,
    RedisUnavailable,
    ResultNotFound,
    SerializationError,
    UnknownQueue,
)
from .handle import JobHandle, JobState
from .job_function import JobFunction
from .registry import job

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
