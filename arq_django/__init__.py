"""arq_django: the Django integration for the asyncio job queue arq."""

from .abort import aabort, abort
from .enqueue import aenqueue, enqueue, enqueue_on_commit
from .exceptions import (
    ArqDjangoError,
    EnqueueError,
    JobFailed,
    JobNotRegistered,
    JobResultTimeout,
    ResultNotFound,
    SerializationError,
    UnknownQueue,
)
from .handle import JobHandle
from .registry import job

__all__ = [
    "ArqDjangoError",
    "EnqueueError",
    "JobFailed",
    "JobHandle",
    "JobNotRegistered",
    "JobResultTimeout",
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
