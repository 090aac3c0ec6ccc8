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
    (error,) = [e for e in check_settings() if e.id == "arq_django.E004"]
    assert "set ARQ_DJANGO['MIRROR'] = False" in error.msg
