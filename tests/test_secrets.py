"""No secret value in any error or log: redact_url, token settings, and the errors that quote the URL."""

from __future__ import annotations

import logging
import traceback

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from arq_django import enqueue
from arq_django.conf import build_config
from arq_django.connection import redact_url
from arq_django.exceptions import EnqueueError

SECRET = "s3cret-Value-17"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"redis://h:6379/0?password={SECRET}", "redis://h:6379/0?password=***"),
        (f"redis://h/0?db=2&password={SECRET}", "redis://h/0?db=2&password=***"),
        (f"unix:///tmp/r.sock?db=1&password={SECRET}", "unix:///tmp/r.sock?db=1&password=***"),
        (f"rediss://h/0?ssl_cert_reqs=none&api_key={SECRET}", "rediss://h/0?ssl_cert_reqs=none&api_key=***"),
        (f"redis://user:{SECRET}@h:6379/0", "redis://***@h:6379/0"),
        (f"redis://:{SECRET}@h/0?token={SECRET}", "redis://***@h/0?token=***"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///tmp/r.sock?db=3", "unix:///tmp/r.sock?db=3"),
        (
            f"redis+sentinel://:{SECRET}@s1:26379,s2:26380/mymaster/0?sentinel_password={SECRET}",
            "redis+sentinel://***@s1:26379,s2:26380/mymaster/0?sentinel_password=***",
        ),
        (f"redis+sentinel://u:{SECRET}@s1,[::1]:26379/m", "redis+sentinel://***@s1,[::1]:26379/m"),
        ("redis+sentinel://s1:26379/mymaster/2", "redis+sentinel://s1:26379/mymaster/2"),
        ("redis://h?password=x", "redis://h?password=***"),
        (SECRET, "***"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def _full_text(e: BaseException) -> str:
    return "".join(traceback.format_exception(e))


@pytest.mark.parametrize("key", ["API_TOKENS", "METRICS_TOKENS"])
@pytest.mark.parametrize(
    "value",
    [SECRET, [SECRET, ""], [SECRET, 5], (SECRET, None), {SECRET: 1}],
    ids=["str", "empty", "int", "none", "dict"],
)
@pytest.mark.django_db  # Django 6's model checks ask the database whether it supports JSONField
def test_malformed_tokens_never_show_their_value(key, value, settings):
    with pytest.raises(ImproperlyConfigured, match=f"ARQ_DJANGO\\['{key}'\\] must be a list") as info:
        build_config({key: value})
    assert SECRET not in _full_text(info.value)  # not in the message, not in a chained error
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, key: value}
    found = checks.run_checks()
    assert found and all(SECRET not in str(m) for m in found)


def test_errors_and_logs_quote_the_url_redacted(settings, client, caplog, django_user_model):
    settings.ARQ_DJANGO = {
        **settings.ARQ_DJANGO,
        "REDIS_URL": f"redis://user:{SECRET}@127.0.0.1:1/0?password={SECRET}",
        "API_TOKENS": ["t" * 40],
        "CONNECT_TIMEOUT": 0.2,
    }
    caplog.set_level(logging.DEBUG)
    with pytest.raises(EnqueueError) as info:
        enqueue("add", 1, 2)
    text = _full_text(info.value)
    assert "127.0.0.1:1" in text and SECRET not in text
    api = Client()
    for response in (
        api.get("/arq/api/jobs/", HTTP_AUTHORIZATION="Bearer " + "t" * 40),
        api.get("/arq/api/stats/", HTTP_AUTHORIZATION="Bearer " + "t" * 40),
    ):
        assert response.status_code == 503 and SECRET not in response.content.decode()
    assert SECRET not in caplog.text
