"""Task signals sent from the worker's loop: Django's own logging receivers run on the loop, any other
sync receiver through ``asend()`` (off the loop, as Django's contract has it), async receivers are
awaited; the sender is the backend's class, looked up once per alias."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.test import override_settings

from arq_django.tasks import ArqBackend
from arq_django.tasks.compat import task_signals, task_started
from arq_django.tasks.sending import _INLINE, asend, sender_for
from tests.tasks import sample


def test_django_own_receivers_are_the_inline_ones() -> None:
    assert {task_signals.log_task_started, task_signals.log_task_finished} == _INLINE


async def test_with_only_django_receivers_nothing_leaves_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_asend(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("asend() would hop to a thread")

    ran: list[int] = []
    monkeypatch.setattr(task_started, "asend", no_asend)
    monkeypatch.setattr(task_signals, "logger", _Recorder(ran))
    await asend(task_started, ArqBackend, task_result=_Result())
    assert ran == [threading.get_ident()]  # Django's log_task_started ran, on this (the loop's) thread


async def test_another_sync_receiver_runs_off_the_loop_and_async_ones_are_awaited() -> None:
    threads: list[int] = []
    awaited: list[str] = []

    def sync_receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        threads.append(threading.get_ident())

    async def async_receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        awaited.append(task_result.id)

    task_started.connect(sync_receiver)
    task_started.connect(async_receiver)
    try:
        await asend(task_started, ArqBackend, task_result=_Result())
    finally:
        task_started.disconnect(sync_receiver)
        task_started.disconnect(async_receiver)
    assert threads and threads[0] != threading.get_ident()
    assert awaited == ["r1"]


async def test_async_receivers_beside_django_own_are_awaited_on_the_loop() -> None:
    awaited: list[int] = []

    async def async_receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        awaited.append(threading.get_ident())

    task_started.connect(async_receiver)
    try:
        await asend(task_started, ArqBackend, task_result=_Result())
    finally:
        task_started.disconnect(async_receiver)
    assert awaited == [threading.get_ident()]


def test_the_sender_is_the_backend_class_and_follows_the_settings() -> None:
    assert sender_for(sample.add) is ArqBackend
    dummy = {"default": {"BACKEND": "arq_django.tasks.ArqBackend"}, "other": {"BACKEND": _DUMMY}}
    with override_settings(TASKS=dummy):
        assert sender_for(sample.add.using(backend="other")).__name__ == "DummyBackend"
    assert sender_for(sample.add) is ArqBackend


_DUMMY = f"{task_signals.__name__.rsplit('.', 1)[0]}.backends.dummy.DummyBackend"


class _Result:
    id = "r1"
    status = "RUNNING"

    class task:
        module_path = "tests.tasks.sample.add"


class _Recorder:
    def __init__(self, ran: list[int]) -> None:
        self.ran = ran

    def info(self, *args: Any, **kwargs: Any) -> None:
        self.ran.append(threading.get_ident())

    debug = info
