"""A real arq_django worker on its own event loop in a background thread, for sync tests that need a
live worker without paying for a subprocess (settings overrides apply: same process)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from arq_django.worker.execute import Worker
from arq_django.worker.settings import create_worker
from tests.conftest import wait_for


class ThreadWorker:
    def __init__(self, queue: str | None = None, **overrides: Any) -> None:
        self.queue = queue
        self.overrides = {"handle_signals": False, "poll_delay": 0.02, **overrides}
        self.worker: Worker | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="test-worker", daemon=True)
        self._thread.start()
        wait_for(lambda: self.error is not None or (self.worker and self.worker.extensions.ready))
        if self.error is not None:
            raise self.error

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as e:  # surfaced to the test
            self.error = e

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.worker = create_worker(self.queue, **self.overrides)
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker.async_run()
        await self.worker.close()

    def _quiet(self) -> bool:
        """No job is between claiming and running its handler, or finishing: arq's close() cancels
        every job task, and one cancelled while it writes its result makes close() skip on_shutdown."""
        w = self.worker
        assert w is not None
        return all(t.done() or job_id in w.job_tasks for job_id, t in list(w.tasks.items()))

    def stop(self) -> None:
        # Only the main task: close() (handle_signals=False) cancels the running jobs itself; cancelling
        # them here too would cancel a job twice, the second time inside its own clean-up.
        if self.worker is not None and self.loop is not None and self._thread.is_alive():
            wait_for(self._quiet)
            main_task = self.worker.main_task
            assert main_task is not None
            self.loop.call_soon_threadsafe(main_task.cancel)
        self._thread.join(30)
        assert not self._thread.is_alive(), "worker thread did not stop"
