"""arq_django: the Django integration for the asyncio job queue arq."""

from .enqueue import aenqueue, enqueue
from .exceptions import (
    ArqDjangoError,
    EnqueueError,
    JobFailed,
    JobNotRegistered,
    JobResultTimeout,
    ResultNotFound,
    SerializationError,
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
    "aenqueue",
    "enqueue",
    "job",
]
