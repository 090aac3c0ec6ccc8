"""Django's ``task_started`` / ``task_finished`` around an async task's try, on the event loop.

``Signal.asend()`` runs sync receivers through ``sync_to_async``: a trip to another thread and back
for every signal, twice per try, even when the only receivers are Django's own, which log a line.
Those are run here on the loop; when any other sync receiver is connected (it may use the ORM, which
must not run on the loop) the signal goes through ``asend()`` as Django's contract says. Async
receivers are awaited either way.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.dispatch import Signal

from arq_django.tasks.compat import task_signals

if TYPE_CHECKING:
    from arq_django.tasks.compat import AnyTask

_INLINE: frozenset[Any] = frozenset(
    f for f in (getattr(task_signals, name, None) for name in ("log_task_started", "log_task_finished")) if f
)
"""Django's own receivers of the two signals: they log a line and touch nothing else."""


async def asend(signal: Signal, sender: type, **named: Any) -> None:
    """``signal.asend(sender, **named)``, with Django's logging receivers run on the loop."""
    if not signal.receivers:
        return
    sync_receivers, async_receivers = signal._live_receivers(sender)  # type: ignore[attr-defined]
    if not all(r in _INLINE for r in sync_receivers):
        await signal.asend(sender=sender, **named)
        return
    for receiver in sync_receivers:
        receiver(signal=signal, sender=sender, **named)
    if async_receivers:
        await asyncio.gather(*(r(signal=signal, sender=sender, **named) for r in async_receivers))


_senders: dict[str, type] = {}


def sender_for(task: AnyTask) -> type:
    """The class of ``task``'s backend, the sender Django's backends send task signals with. Kept per
    alias: ``task.get_backend()`` builds a new backend in every asyncio task (Django keeps backends per
    context, and each job runs in its own)."""
    sender = _senders.get(task.backend)
    if sender is None:
        sender = _senders[task.backend] = type(task.get_backend())
    return sender


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "TASKS":
        _senders.clear()


setting_changed.connect(_forget, dispatch_uid="arq_django.tasks.sending")
