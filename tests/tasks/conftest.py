"""Helpers for the Tasks contract tests: wait for a result through the contract's own ``refresh()``."""

from __future__ import annotations

from typing import Any

from tests.conftest import wait_for, wait_for_async


def finished(result: Any, timeout: float = 20.0) -> Any:
    """Refresh ``result`` until it is finished (the contract's polling loop); returns it."""

    def done() -> bool:
        result.refresh()
        return bool(result.is_finished)

    wait_for(done, timeout=timeout)
    return result


async def afinished(result: Any, timeout: float = 20.0) -> Any:
    """Async twin of :func:`finished`, through ``arefresh()``."""

    async def done() -> bool:
        await result.arefresh()
        return bool(result.is_finished)

    await wait_for_async(done, timeout=timeout)
    return result
