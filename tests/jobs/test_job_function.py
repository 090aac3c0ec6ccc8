"""``@job`` handlers as Python and Celery users call them (issue 21, points 4 and 5): ``enqueue(add, ...)``,
``add.enqueue/aenqueue/delay``, typed parameters, arguments bound at enqueue, ``ctx`` checked at ``@job``."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from arq_django import InvalidArguments, JobNotRegistered, aenqueue, enqueue, job
from arq_django.jobs.registry import registry
from tests.jobs_app.jobs import add, echo, sync_add

ROOT = Path(__file__).resolve().parents[2]


def test_enqueue_accepts_a_registered_handler(fake_redis):
    handle = enqueue(add, 1, 2)
    assert handle is not None and handle.function == "add"
    named = enqueue(sync_add, 1, 2)  # registered under the name given to @job
    assert named is not None and named.function == "sync_add"


def test_handler_methods_enqueue_and_direct_calls_still_work(fake_redis):
    for method in (add.enqueue, add.delay):
        handle = method(1, 2)
        assert handle is not None and handle.function == "add"
    assert len(fake_redis.zrange("arq:queue", 0, -1)) == 2
    assert asyncio.run(add({}, 1, 2)) == 3
    assert sync_add({"job_id": "j"}, 1, 2)["sum"] == 3
    assert add.job_name == "add"


async def test_aenqueue_accepts_a_handler_and_the_method(redis_url, redis_client):
    first = await aenqueue(add, 1, 2)
    second = await add.aenqueue(3, 4)
    assert first is not None and second is not None
    assert {first.function, second.function} == {"add"}
    assert redis_client.zcard("arq:queue") == 2


def test_an_unregistered_callable_is_named(fake_redis):
    def not_a_job(ctx, x):
        return x

    with pytest.raises(JobNotRegistered, match=r"test_job_function\.test_an_unregistered_callable_is_named"):
        enqueue(not_a_job, 1)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1,), {}, "missing a required argument: 'b'"),
        ((1, 2), {"c": 3}, "unexpected keyword argument 'c'"),
        ((1, 2, 3), {}, "too many positional arguments"),
    ],
)
def test_arguments_are_bound_at_enqueue(fake_redis, args, kwargs, message):
    with pytest.raises(InvalidArguments, match=message) as caught:
        enqueue("add", *args, **kwargs)
    assert "job 'add'" in str(caught.value) and "add(ctx, a, b)" in str(caught.value)
    assert isinstance(caught.value, TypeError)  # callers catching TypeError keep working
    assert fake_redis.keys("*") == []  # nothing written


def test_binding_remembers_good_shapes_only(fake_redis):
    spec = registry.get("add")
    spec.call_shapes.clear()
    enqueue(add, 1, 2)
    enqueue(add, a=1, b=2)
    assert {(2, ()), (0, ("a", "b"))} <= spec.call_shapes
    with pytest.raises(InvalidArguments):
        enqueue(add, 1)
    assert (1, ()) not in spec.call_shapes
    enqueue(echo, 1, 2, 3, x=1)  # *args, **kwargs: anything binds


def test_a_handler_without_ctx_is_refused_at_decoration():
    with pytest.raises(ImproperlyConfigured, match=r"@job 'no_ctx'.*takes no ctx.*def no_ctx\(ctx, \.\.\.\)"):

        @job
        def no_ctx() -> None: ...

    with pytest.raises(ImproperlyConfigured, match="takes no ctx"):

        @job("kw_only")
        async def kw_only(*, ctx: object) -> None: ...

    assert "no_ctx" not in {s.name for s in registry.all()}


def test_editors_see_the_parameters(tmp_path):
    """mypy (the editor's view) checks ``.enqueue()`` against the handler's parameters after ``ctx``."""
    from mypy import api

    probe = tmp_path / "probe.py"
    probe.write_text(
        textwrap.dedent(
            """
            from typing import Any
            from arq_django import job

            @job
            async def plus(ctx: dict[str, Any], a: int, b: int) -> int:
                return a + b

            reveal_type(plus.enqueue)
            plus.enqueue(1, "two")
            plus.delay(1, 2, c=3)
            """
        )
    )
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nfollow_imports = silent\n")
    out, _err, _status = api.run(["--config-file", str(config), "--no-incremental", str(probe)])
    assert 'Revealed type is "def (a: int, b: int) -> arq_django.client.handle.JobHandle | None"' in out
    assert 'Argument 2 to "enqueue" of "JobFunction" has incompatible type "str"; expected "int"' in out
    assert 'Unexpected keyword argument "c" for "delay"' in out


@pytest.mark.integration
def test_a_real_worker_runs_what_the_handler_enqueued(start_worker):
    start_worker()
    handle = add.delay(20, 22)
    assert handle is not None and handle.result(timeout=20) == 42
