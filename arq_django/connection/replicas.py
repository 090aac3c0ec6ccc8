"""Durable enqueue (``ENQUEUE_WAIT_REPLICAS``): Redis ``WAIT`` right after the job's write.

``WAIT`` counts the replicas that acknowledged the *calling connection's* last write, so it must follow
the write on the very same connection. The enqueue script and ``WAIT`` go out as one non-transactional
pipeline (one round trip, one connection): see :mod:`arq_django.client.write`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from arq_django.conf import get_config
from arq_django.exceptions import EnqueueNotConfirmed

if TYPE_CHECKING:
    from arq_django.client.plan import JobPlan


@dataclass(frozen=True)
class WaitPolicy:
    """``WAIT replicas timeout_ms``: how many replicas must have a job before ``enqueue()`` returns."""

    replicas: int
    timeout_ms: int

    @property
    def args(self) -> tuple[int, int]:
        return self.replicas, self.timeout_ms


def check_wait_timeout(seconds: float, socket_timeout: float, waiting: bool) -> float:
    """``ENQUEUE_WAIT_TIMEOUT`` (``seconds``), checked: with replicas to wait for it must end before the
    client's own read timeout would cut ``WAIT`` off."""
    if waiting and seconds >= socket_timeout:
        raise ImproperlyConfigured(
            f"ARQ_DJANGO['ENQUEUE_WAIT_TIMEOUT'] ({seconds:g} s) must be shorter than SOCKET_TIMEOUT "
            f"({socket_timeout:g} s), or the socket times out before Redis answers WAIT."
        )
    return seconds


def wait_policy() -> WaitPolicy | None:
    """The configured policy; ``None`` when ``ENQUEUE_WAIT_REPLICAS`` is 0 (the default: no ``WAIT``)."""
    config = get_config()
    if not config.enqueue_wait_replicas:
        return None
    return WaitPolicy(config.enqueue_wait_replicas, round(config.enqueue_wait_timeout * 1000))


def check_confirmed(plan: JobPlan, policy: WaitPolicy, acked: object) -> None:
    """Raise :class:`EnqueueNotConfirmed` when fewer than ``policy.replicas`` replicas have the job
    ``plan`` wrote (``acked``: ``WAIT``'s reply, or the error it failed with). Raised after the write: the
    job is on the primary and may run, or be lost in a failover."""
    from arq_django.connection import server_for

    if isinstance(acked, int) and acked >= policy.replicas:
        return
    why = (
        f"WAIT failed: {acked}"
        if isinstance(acked, BaseException)
        else f"{acked} confirmed within the timeout"
    )
    raise EnqueueNotConfirmed(
        f"job {plan.job_id} ({plan.function!r}, queue {plan.queue_name!r}) was written on the primary at "
        f"{server_for(plan.queue_name).label} but not confirmed by {policy.replicas} replica(s) ({why}); it "
        "may run, or be lost if the primary fails over now. Enqueue it again with the same _job_id once the "
        "replicas are back (a duplicate id is refused, so it cannot run twice), or lower "
        "ARQ_DJANGO['ENQUEUE_WAIT_REPLICAS'] / raise ENQUEUE_WAIT_TIMEOUT.",
        job_id=plan.job_id,
    )
