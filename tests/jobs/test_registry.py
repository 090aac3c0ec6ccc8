from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from arq_django import JobNotRegistered, job
from arq_django.jobs.registry import registry


@pytest.fixture
def scratch():
    names: list[str] = []
    yield names
    for name in names:
        registry.remove(name)


def test_bare_decorator_registers_under_function_name_and_returns_function(scratch):
    async def reg_plain(ctx, x):
        return x * 2

    decorated = job(reg_plain)
    scratch.append("reg_plain")
    assert decorated is reg_plain
    spec = registry.get("reg_plain")
    assert spec.func is reg_plain and spec.is_async
    assert spec.queue is None and spec.timeout is None


async def test_decorated_function_can_still_be_called_directly(scratch):
    @job("reg_direct")
    async def handler(ctx, x):
        return x + 1

    scratch.append("reg_direct")
    assert await handler({}, 1) == 2


def test_options_are_recorded(scratch):
    @job("reg_opts", queue="q2", timeout=30, max_tries=3, keep_result=3600)
    def handler(ctx):
        return 1

    scratch.append("reg_opts")
    spec = registry.get("reg_opts")
    assert (spec.queue, spec.timeout, spec.max_tries, spec.keep_result) == ("q2", 30.0, 3, 3600.0)
    assert not spec.is_async
    assert handler.job_name == "reg_opts"


def test_duplicate_name_names_both_modules(scratch):
    from tests.jobs_app import jobs

    def add(ctx):  # same name as tests.jobs_app.jobs.add, another module
        return 0

    add.__module__ = "someapp.jobs"
    with pytest.raises(ImproperlyConfigured) as err:
        job(add)
    assert "tests.jobs_app.jobs" in str(err.value) and "someapp.jobs" in str(err.value)
    assert registry.get("add").func is jobs.add


def test_reimporting_the_same_handler_is_not_a_duplicate(scratch):
    from tests.jobs_app import jobs

    job(jobs.add)
    assert registry.get("add").func is jobs.add


def test_discovery_finds_jobs_in_every_installed_app():
    names = {spec.name for spec in registry.all()}
    assert {"email", "file_process", "send_welcome", "add", "sync_add"} <= names


def test_dotted_path_is_an_alias():
    assert registry.get("demo.jobs.email").name == "email"


def test_unknown_name_lists_known_jobs():
    with pytest.raises(JobNotRegistered) as err:
        registry.get("nope")
    assert "'nope'" in str(err.value) and "email" in str(err.value)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_tries": 0}, "max_tries"),
        ({"timeout": -1}, "timeout"),
        ({"keep_result": "1h"}, "keep_result"),
        ({"queue": ""}, "queue"),
    ],
)
def test_bad_options_name_the_job(options, fragment):
    def handler(ctx):
        return None

    with pytest.raises(ImproperlyConfigured) as err:
        job("reg_bad", **options)(handler)
    assert "reg_bad" in str(err.value) and fragment in str(err.value)
    with pytest.raises(JobNotRegistered):
        registry.get("reg_bad")
