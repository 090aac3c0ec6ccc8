from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from arq_django.checks import check_settings
from arq_django.conf import build_config, get_config


def test_defaults():
    config = build_config({})
    assert config.queue == "arq:queue"
    assert config.serializer == "json"
    assert config.job_modules == ("jobs",)
    assert config.connect_timeout <= 2
    assert config.queues == ("arq:queue",)


def test_settings_are_read_lazily(settings):
    settings.ARQ_DJANGO = {"QUEUE": "first"}
    assert get_config().queue == "first"
    with override_settings(ARQ_DJANGO={"QUEUE": "second", "KEEP_RESULT": timedelta(minutes=2)}):
        assert get_config().queue == "second"
        assert get_config().keep_result == 120
    assert get_config().queue == "first"


def test_redis_url_is_not_in_repr():
    config = build_config({"REDIS_URL": "redis://user:hunter2@example.com:6379/0"})
    assert "hunter2" not in repr(config)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ([], "must be a dict"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"MAX_JOBS": 0}, "MAX_JOBS"),
        ({"POLL_DELAY": "fast"}, "POLL_DELAY"),
        ({"JOB_MODULES": "jobs"}, "JOB_MODULES"),
        ({"QUEUE": ""}, "QUEUE"),
        ({"MAX_JOB": 3}, "unknown keys ['MAX_JOB']"),
    ],
)
def test_bad_settings_raise_and_show_in_checks(settings, raw, fragment):
    with pytest.raises(ImproperlyConfigured, match="ARQ_DJANGO"):
        build_config(raw)
    settings.ARQ_DJANGO = raw
    errors = check_settings()
    assert [e.id for e in errors] == ["arq_django.E001"]
    assert fragment in errors[0].msg
    with pytest.raises(ImproperlyConfigured):
        get_config()


def test_bad_serializer_shows_in_checks(settings):
    settings.ARQ_DJANGO = {"SERIALIZER": "no.such.module.Serializer"}
    errors = check_settings()
    assert [e.id for e in errors] == ["arq_django.E002"]
    assert "no.such.module.Serializer" in errors[0].msg


def test_valid_settings_pass_checks():
    assert check_settings() == []


def test_list_sources_and_lease():
    config = build_config({"LIST_SOURCES": ["async_tasks"], "LIST_LEASE": timedelta(seconds=10)})
    assert config.list_sources == ("async_tasks",) and config.list_lease == 10
    assert build_config({}).list_sources == ()
    for bad in ({"LIST_SOURCES": "async_tasks"}, {"LIST_SOURCES": [""]}, {"LIST_LEASE": 0.5}):
        with pytest.raises(ImproperlyConfigured, match="LIST_"):
            build_config(bad)


def test_health_and_api_settings():
    config = build_config({"QUEUES": ["a", "b"], "API_TOKENS": ["t0ken-secret"], "HEARTBEAT_INTERVAL": 2})
    assert config.heartbeat_interval == 2 and config.health_check_interval == 2  # arq's key follows
    assert config.health_timeout == 1.0
    assert config.health_checks == ("redis", "database", "workers", "backlog")
    assert config.health_min_workers == {"arq:queue": 1}
    assert config.health_max_backlog == {} and config.health_max_backlog_age == {}
    assert "t0ken-secret" not in repr(config)
    per_queue = build_config(
        {
            "QUEUES": ["a", "b"],
            "HEALTH_MIN_WORKERS": 2,
            "HEALTH_MAX_BACKLOG": {"a": 100},
            "HEALTH_MAX_BACKLOG_AGE": timedelta(minutes=5),
            "HEALTH_CHECK_INTERVAL": 30,
        }
    )
    assert per_queue.health_min_workers == {"*": 2}  # every known queue
    assert per_queue.health_max_backlog == {"a": 100}
    assert per_queue.health_max_backlog_age == {"*": 300}
    assert per_queue.health_check_interval == 30


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"HEALTH_CHECKS": ["redis", "disk"]}, "unknown checks .'disk'."),
        ({"HEALTH_TIMEOUT": 0}, "HEALTH_TIMEOUT"),
        ({"HEARTBEAT_INTERVAL": -1}, "HEARTBEAT_INTERVAL"),
        ({"HEALTH_MIN_WORKERS": -1}, "HEALTH_MIN_WORKERS"),
        ({"HEALTH_MAX_BACKLOG": {"q": "many"}}, "HEALTH_MAX_BACKLOG"),
        ({"HEALTH_MAX_BACKLOG": {"": 1}}, "keys must be queue names"),
        ({"API_TOKENS": "single-token"}, "API_TOKENS"),
        ({"METRICS_TOKENS": [""]}, "METRICS_TOKENS"),
        ({"API_ENQUEUE_ALLOWED": [1]}, "API_ENQUEUE_ALLOWED"),
    ],
)
def test_bad_health_and_api_settings(raw, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        build_config(raw)


def test_log_jobs_must_be_a_bool() -> None:
    assert build_config({"LOG_JOBS": False}).log_jobs is False
    with pytest.raises(ImproperlyConfigured, match="LOG_JOBS"):
        build_config({"LOG_JOBS": "no"})


def test_mirror_settings():
    config = build_config({"RESULT_RETENTION": timedelta(days=7), "MIRROR_FLUSH_INTERVAL": 1})
    assert config.mirror and config.mirror_on_enqueue
    assert (config.mirror_flush_interval, config.mirror_batch_size) == (1.0, 500)
    assert config.result_retention == 7 * 86400 and build_config({}).result_retention is None
    for raw, fragment in [
        ({"MIRROR": "yes"}, "MIRROR"),
        ({"MIRROR_BATCH_SIZE": 0}, "MIRROR_BATCH_SIZE"),
        ({"RESULT_RETENTION": 0}, "RESULT_RETENTION"),
        ({"MIRROR_RECONCILE_INTERVAL": -1}, "MIRROR_RECONCILE_INTERVAL"),
    ]:
        with pytest.raises(ImproperlyConfigured, match=fragment):
            build_config(raw)


def test_mirror_on_an_unsupported_database_fails_the_check(monkeypatch):
    from arq_django.mirror import writer

    monkeypatch.setattr(writer, "SUPPORTED_VENDORS", ("oracle",))
    (error,) = [e for e in check_settings() if e.id == "arq_django.E005"]
    assert "set ARQ_DJANGO['MIRROR'] = False" in error.msg


# -- configuration errors that help (issue 21, point 9) -----------------------------------------------


def test_an_unknown_key_gets_a_suggestion_not_the_whole_list():
    with pytest.raises(ImproperlyConfigured) as caught:
        build_config({"MAX_JOB": 3})
    message = str(caught.value)
    assert "did you mean 'MAX_JOBS'?" in message
    assert "SYNC_THREADS" not in message  # the 35 known keys are listed only when nothing is close


def test_every_bad_value_is_reported_at_once(settings):
    raw = {"MAX_JOBS": 0, "POLL_DELAY": "fast", "QUEUE": "", "MAX_JOB": 1}
    with pytest.raises(ImproperlyConfigured) as caught:
        build_config(raw)
    for fragment in ("MAX_JOBS'] must be", "POLL_DELAY'] must be", "QUEUE'] must be", "'MAX_JOB'"):
        assert fragment in str(caught.value)
    settings.ARQ_DJANGO = raw
    (error,) = check_settings()
    assert "POLL_DELAY" in error.msg and "QUEUE" in error.msg


def test_the_e003_hint_fits_the_problem(monkeypatch):
    from arq_django.exceptions import DuplicateJobName
    from arq_django.jobs.registry import registry

    def fails(error):
        def all_specs():
            raise error

        return all_specs

    monkeypatch.setattr(registry, "all", fails(ImproperlyConfigured("@job 'x': max_tries= must be ...")))
    (error,) = [e for e in check_settings() if e.id == "arq_django.E003"]
    assert "Rename" not in error.hint and "@job" in error.hint
    monkeypatch.setattr(registry, "all", fails(DuplicateJobName("job name 'x' is registered twice")))
    (error,) = [e for e in check_settings() if e.id == "arq_django.E003"]
    assert error.hint == "Rename or remove one of the jobs."


def test_a_dict_with_an_int_key_is_not_told_about_primary_keys(fake_redis):
    from arq_django import SerializationError, enqueue

    with pytest.raises(SerializationError) as caught:
        enqueue("echo", {1: "one"})
    message = str(caught.value)
    assert "primary key" not in message
    assert "dict key 1 is a int" in message and "keys must be str" in message and "str(k)" in message


def test_a_model_instance_is_told_to_pass_its_primary_key(fake_redis):
    from arq_django import SerializationError, enqueue
    from arq_django.models import JobResult

    with pytest.raises(SerializationError, match=r"use its primary key \(JobResult\.pk\) instead"):
        enqueue("echo", JobResult(job_id="x"))
