"""What an ingester decided about each claimed message, how the ``COMMIT`` script is told, and what it
did in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arq_django.client.plan import JobPlan
from arq_django.ingest import dead_letters
from arq_django.keys import SourceKeys, wake_key


@dataclass(frozen=True)
class Decision:
    """What to do with one claimed message: enqueue ``plan``, dead-letter with ``reason``, or just ack."""

    raw: bytes
    plan: JobPlan | None = None
    reason: str | None = None
    ran: bool = False
    """The message's job already ran here (``--run-inline``): it was counted when it was taken."""


@dataclass(frozen=True)
class IngestStats:
    """What an ingester did, returned by :meth:`ListIngester.run`."""

    taken: int
    """Messages taken off the list (every outcome below)."""
    enqueued: int
    duplicates: int
    """Messages whose ``options.job_id`` already existed: arq's semantics, nothing written."""
    dead: int
    ran: int = 0
    """``--run-inline`` only: jobs that completed."""
    failed: int = 0
    """``--run-inline`` only: jobs that raised or timed out (they are dead-lettered too)."""


def refused(o: Decision, error: object) -> Decision:
    """The dead letter for a job write Redis refused (``error``: its reply or the client's exception)."""
    assert o.plan is not None, "only a job write can be refused"
    if isinstance(error, bytes):
        error = error.decode("utf-8", "replace")
    reason = f"Redis refused to write job {o.plan.job_id} ({o.plan.function}): {error}"
    return Decision(o.raw, reason=dead_letters.printable(reason), ran=o.ran)


def commit_call(outcomes: list[Decision], keys: SourceKeys, consumer: str) -> tuple[list[str], list[Any]]:
    """The ``KEYS`` and ``ARGV`` of one ``COMMIT`` call (the layout its header describes)."""
    script_keys = [keys.processing(consumer), keys.dead]
    args: list[Any] = []
    for o in outcomes:
        if o.plan is not None:
            p = o.plan
            taken_if_a, taken_if_b = p.guard_keys  # job + result, or job + unique marker
            stale = p.stale_keys[0] if p.stale_keys else p.job_key
            script_keys += [p.job_key, p.queue_name, taken_if_a, taken_if_b, stale, wake_key(p.queue_name)]
            args += ["E", o.raw, p.job_id, p.payload, p.expires_ms, p.score, int(p.guarded)]
            args.append(int(bool(p.stale_keys)))
        elif o.reason is not None:
            entry = dead_letters.encode(o.raw, o.reason, keys.source, consumer)
            args += ["D", o.raw, entry, "", "", "", "", ""]
        else:
            args += ["A", o.raw, "", "", "", "", "", ""]
    return script_keys, args
