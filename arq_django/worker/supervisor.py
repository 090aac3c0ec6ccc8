"""``manage.py arq_worker --processes N``: one supervisor process keeping N worker processes alive.

Each worker is a fresh interpreter (``multiprocessing``'s spawn start method: nothing of the parent's
Django state, database connections or event loop is inherited) that sets Django up and runs
:func:`~arq_django.worker.serve.serve`, so it has its own pid, heartbeat key and Redis connections.

The supervisor

- restarts a worker that exits unless it was asked to stop, after a pause that doubles with each
  failure in a row (``Backoff``); a worker that stayed up ``healthy_after`` seconds starts over;
- with ``--burst``, lets a worker that exits with status 0 stay stopped (its queue is empty);
- on SIGTERM / SIGINT passes the signal on to every worker, which stops taking jobs and gives the
  running ones ``JOB_COMPLETION_WAIT`` (arq's graceful stop), and exits once all have stopped: status 0
  if every worker stopped cleanly, 1 otherwise (a worker still running ``stop_timeout`` seconds after
  the signal is killed).

Workers run in process groups of their own, so a terminal's Ctrl+C reaches them once, through the
supervisor; a worker whose supervisor died stops by itself, as if sent SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from arq_django.worker import logs
from arq_django.worker.serve import ServeOptions

logger = logging.getLogger("arq_django.worker")

AUTO = "auto"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PARENT_CHECK_S = 1.0
"""How often a worker checks that its supervisor is still alive."""


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else all of them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def parse_processes(value: str | int) -> int:
    """``--processes``: a whole number from 1, or ``auto`` (one per CPU). ``ValueError`` says the fix."""
    text = str(value).strip().lower()
    if text == AUTO:
        return cpu_count()
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1 or not text.isdigit():
        raise ValueError(
            f"--processes {value!r} is not a number of worker processes: give a whole number from 1 up, "
            f"or 'auto' for one per CPU ({cpu_count()} here)."
        )
    return number


def describe_exit(code: int) -> str:
    """``exited with status 3`` / ``was killed by SIGKILL``, from a ``Process.exitcode``."""
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


@dataclass(frozen=True)
class Backoff:
    """How long the supervisor waits before restarting a worker that died."""

    first: float = 1.0
    """Seconds before the first restart."""
    cap: float = 30.0
    """The longest wait, however often the worker died."""
    healthy_after: float = 60.0
    """A worker up this long counts as healthy: its next death waits ``first`` again."""

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th death in a row (1, 2, ...)."""
        return float(min(self.cap, self.first * 2 ** max(failures - 1, 0)))


@dataclass
class _Slot:
    """One of the N places a worker process fills."""

    number: int
    process: BaseProcess | None = None
    started: float = 0.0
    failures: int = 0
    """Deaths in a row, each within ``healthy_after`` of its start."""
    restart_at: float | None = None
    """``time.monotonic()`` when the next process starts, while waiting out a backoff."""
    exit_codes: list[int] = field(default_factory=list)

    def name(self, total: int) -> str:
        pid = self.process.pid if self.process is not None else None
        return f"worker process {self.number}/{total} (pid {pid})"


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    logger.warning("the supervisor (pid %d) is gone: stopping this worker", parent)
    os.kill(os.getpid(), signal.SIGTERM)


def serve_child(options: ServeOptions, parent: int) -> None:
    """A worker process's entry point (spawned: Django is set up anew from the inherited environment)."""
    import django

    os.setpgid(0, 0)  # the terminal's Ctrl+C goes to the supervisor, which passes it on once
    threading.Thread(target=_watch_parent, args=(parent,), name="supervisor-watch", daemon=True).start()
    django.setup()
    from arq_django.worker.serve import serve

    serve(options)


class Supervisor:
    """Runs ``processes`` workers until they are all stopped; see the module docstring."""

    def __init__(
        self,
        options: ServeOptions,
        processes: int,
        *,
        stop_timeout: float,
        backoff: Backoff = Backoff(),
        target: Callable[..., None] = serve_child,
    ) -> None:
        self.options = options
        self.slots = [_Slot(number) for number in range(1, processes + 1)]
        self.stop_timeout = stop_timeout
        self.backoff = backoff
        self.target = target
        self.burst = bool(options.overrides.get("burst"))
        self._context = multiprocessing.get_context("spawn")
        self._signals: list[int] = []
        self._stop_deadline: float | None = None
        self._killed = False

    # -- processes -------------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        process = self._context.Process(
            target=self.target, args=(self.options, os.getpid()), name=f"arq_django-worker-{slot.number}"
        )
        process.start()
        slot.process, slot.started, slot.restart_at = process, time.monotonic(), None
        logger.info("started %s", slot.name(len(self.slots)))

    def _live(self) -> list[_Slot]:
        return [s for s in self.slots if s.process is not None and s.process.exitcode is None]

    def _reap(self, slot: _Slot) -> None:
        """``slot``'s process has ended: note it, and schedule a restart unless it was meant to end."""
        assert slot.process is not None and slot.process.exitcode is not None
        code, name = slot.process.exitcode, slot.name(len(self.slots))
        slot.process.join()
        slot.exit_codes.append(code)
        uptime = time.monotonic() - slot.started
        slot.process = None
        if self._stop_deadline is not None:
            log = logger.info if code == 0 else logger.error
            log("%s %s after the stop signal", name, describe_exit(code))
            return
        if self.burst and code == 0:
            logger.info("%s finished its burst", name)
            return
        slot.failures = 1 if uptime >= self.backoff.healthy_after else slot.failures + 1
        delay = self.backoff.delay(slot.failures)
        logger.error("%s %s after %.1f s; restarting it in %.1f s", name, describe_exit(code), uptime, delay)
        slot.restart_at = time.monotonic() + delay

    # -- signals ---------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signals.append(signum)  # handled by the loop, which the wake-up fd has woken

    def _handle_signals(self) -> None:
        while self._signals:
            signum = self._signals.pop(0)
            live = self._live()
            if self._stop_deadline is None:
                self._stop_deadline = time.monotonic() + self.stop_timeout
                logger.info(
                    "%s: stopping %d worker processes (running jobs get JOB_COMPLETION_WAIT to finish)",
                    signal.Signals(signum).name,
                    len(live),
                )
            for slot in self.slots:
                slot.restart_at = None
            for slot in live:
                assert slot.process is not None and slot.process.pid is not None
                os.kill(slot.process.pid, signum)

    def _kill_overdue(self) -> None:
        for slot in self._live():
            assert slot.process is not None
            logger.error(
                "%s still runs %.0f s after the stop signal: killing it",
                slot.name(len(self.slots)),
                self.stop_timeout,
            )
            slot.process.kill()
        self._killed = True

    # -- the loop --------------------------------------------------------------------------------

    def _timeout(self) -> float | None:
        moments = [s.restart_at for s in self.slots if s.restart_at is not None]
        if self._stop_deadline is not None and not self._killed:
            moments.append(self._stop_deadline)
        return max(min(moments) - time.monotonic(), 0.0) if moments else None

    def _done(self) -> bool:
        # A process that ended but is not reaped yet keeps its slot: its exit status counts.
        return all(s.process is None and s.restart_at is None for s in self.slots)

    def run(self) -> int:
        """Start the workers and keep them running until they have all stopped; the exit status."""
        logs.configure(self.options.log_level, verbose=self.options.verbose)
        logger.info("supervisor (pid %d): starting %d worker processes", os.getpid(), len(self.slots))
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        previous_fd = signal.set_wakeup_fd(wake_write.fileno(), warn_on_full_buffer=False)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            for slot in self.slots:
                self._start(slot)
            while not self._done():
                self._handle_signals()
                now = time.monotonic()
                for slot in self.slots:
                    if slot.restart_at is not None and slot.restart_at <= now:
                        self._start(slot)
                if self._stop_deadline is not None and now >= self._stop_deadline and not self._killed:
                    self._kill_overdue()
                # Every started process's sentinel, an ended one's too: it is ready at once.
                sentinels = [s.process.sentinel for s in self.slots if s.process is not None]
                wait([*sentinels, wake_read], timeout=self._timeout())
                while True:  # empty the wake-up socket
                    try:
                        if not wake_read.recv(512):
                            break
                    except BlockingIOError:
                        break
                for slot in self.slots:
                    if slot.process is not None and slot.process.exitcode is not None:
                        self._reap(slot)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(previous_fd)
            wake_read.close()
            wake_write.close()
        clean = not self._killed and all(s.exit_codes and s.exit_codes[-1] == 0 for s in self.slots)
        logger.info("supervisor: all worker processes stopped%s", "" if clean else " (not all cleanly)")
        return 0 if clean else 1
