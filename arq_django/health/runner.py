"""Run health checks concurrently under one time budget.

Each check runs in a daemon thread; the report waits for all of them until the budget is spent and
marks the rest as timed out, so a hung dependency never holds the caller longer than the budget. A
check still running from an earlier report is joined rather than started again, so probes against a
hung server cannot pile up threads.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from arq_django.exceptions import CheckFailed
from arq_django.health.checks import Check

logger = logging.getLogger("arq_django.health")

Outcome = tuple[dict[str, Any], float, BaseException | None]
"""What a check's thread hands back: its figures, how long it took (ms) and what it raised."""

_in_flight: dict[Check, Future[Outcome]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    ms: float
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "ms": self.ms, **self.details}
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class HealthReport:
    checks: dict[str, CheckResult] = field(hash=False)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "fail",
            "checks": {k: v.as_dict() for k, v in self.checks.items()},
        }


def _execute(check: Check, future: Future[Outcome]) -> None:
    started = time.perf_counter()
    details: dict[str, Any] = {}
    error: BaseException | None = None
    try:
        details = check.run()
    except BaseException as e:
        error = e
    finally:
        with _lock:
            if _in_flight.get(check) is future:
                del _in_flight[check]
        future.set_result((details, (time.perf_counter() - started) * 1000, error))


def _submit(check: Check) -> Future[Outcome]:
    with _lock:
        future = _in_flight.get(check)
        if future is not None:
            return future
        future = Future()
        future.set_running_or_notify_cancel()
        _in_flight[check] = future
    threading.Thread(
        target=_execute, args=(check, future), name=f"arq-health-{check.name}", daemon=True
    ).start()
    return future


def _result(check: Check, future: Future[Outcome], budget: float) -> CheckResult:
    if not future.done():
        return CheckResult(False, round(budget * 1000, 1), f"no answer within {budget:g} s")
    details, ms, error = future.result()
    ms = round(ms, 1)
    if error is None:
        return CheckResult(True, ms, details=details)
    if isinstance(error, CheckFailed):
        return CheckResult(False, ms, str(error), error.details)
    # Driver messages name hosts, ports and users: the log gets the message, the report the type only.
    logger.warning("health check %s failed: %s: %s", check.name, type(error).__name__, error)
    return CheckResult(False, ms, f"{check.name} unavailable ({type(error).__name__})")


def run_checks(checks: list[Check], budget: float) -> HealthReport:
    """Every check's result within ``budget`` seconds (plus thread start-up)."""
    deadline = time.monotonic() + budget
    futures = [(check, _submit(check)) for check in checks]
    wait([f for _, f in futures], timeout=max(deadline - time.monotonic(), 0))
    return HealthReport({check.name: _result(check, future, budget) for check, future in futures})
