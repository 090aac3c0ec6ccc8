"""``REDIS_URL`` grammar (plain, TLS, Sentinel), per-queue servers and their validation, without Redis."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from arq_django.conf import build_config
from arq_django.connection import server_for, servers
from arq_django.connection.servers import RedisServer, parse_server

SECRET = "s3cret-Value-17"


def parse(url: str, **options: object) -> RedisServer:
    return parse_server(url, dict(options), "ARQ_DJANGO")


def test_a_sentinel_url_names_sentinels_master_db_and_both_passwords():
    server = parse(
        f"redis+sentinel://app:{SECRET}@s1:26379,s2,[::1]:26400/my%20master/3?sentinel_password=pw2"
    )
    assert server.sentinels == (("s1", 26379), ("s2", 26379), ("::1", 26400))
    assert (server.master, server.db) == ("my master", 3)
    assert (server.username, server.password) == ("app", SECRET)
    assert (server.sentinel_username, server.sentinel_password) == (None, "pw2")
    assert server.is_sentinel and SECRET not in repr(server) and "pw2" not in repr(server)
    assert server.label == "redis+sentinel://***@s1:26379,s2,[::1]:26400/my%20master/3?sentinel_password=***"


def test_a_sentinel_url_without_database_uses_0_and_without_passwords_sends_none():
    server = parse("redis+sentinel://s1/mymaster")
    assert (server.db, server.password, server.sentinel_password) == (0, None, None)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://s1:26379", "must end with the master's name"),
        ("redis+sentinel://s1:26379/", "must end with the master's name"),
        ("redis+sentinel://s1:26379/m/0/extra", "must end with the master's name"),
        ("redis+sentinel://s1:26379/m/zero", "the database 'zero' must be a number"),
        ("redis+sentinel:///mymaster", "names no sentinel"),
        ("redis+sentinel://s1:port/mymaster", "sentinel 's1:port' must be host or host:port"),
        ("redis+sentinel://s1:0/mymaster", "must be host or host:port"),
        ("redis+sentinel://s1/m?password=x", "unknown query parameters ['password']"),
        ("rediss+sentinel://s1/m", "not supported"),
        ("sentinel://s1/m", "must be a redis://, rediss://, unix:// or redis+sentinel:// URL"),
    ],
)
def test_a_bad_sentinel_url_says_what_is_wrong_and_shows_the_form(url, says):
    with pytest.raises(ImproperlyConfigured, match="ARQ_DJANGO\\['REDIS_URL'\\]") as info:
        build_config({"REDIS_URL": url})
    assert says in str(info.value)
    assert "redis+sentinel://" in str(info.value)  # the right form, or the URL it refused


def test_a_bad_sentinel_url_never_shows_its_passwords():
    with pytest.raises(ImproperlyConfigured) as info:
        build_config({"REDIS_URL": f"redis+sentinel://:{SECRET}@s1:bad/m?sentinel_password={SECRET}"})
    assert SECRET not in "".join(traceback.format_exception(info.value))


@pytest.mark.django_db  # Django 6's model checks ask the database whether it supports JSONField
def test_the_system_check_reports_a_bad_sentinel_url(settings):
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, "REDIS_URL": "redis+sentinel://s1:26379"}
    found = [m for m in checks.run_checks() if m.id == "arq_django.E001"]
    assert found and "ARQ_DJANGO['REDIS_URL']" in found[0].msg and "/mymaster/0" in found[0].msg


def test_tls_settings_need_a_rediss_url_and_existing_files(tmp_path: Path):
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    with pytest.raises(ImproperlyConfigured, match="does not use TLS: write rediss://"):
        build_config({"REDIS_URL": "redis://h/0", "REDIS_SSL_CA_CERTS": str(ca)})
    with pytest.raises(ImproperlyConfigured, match="REDIS_SSL_CA_CERTS'\\] must name a readable file"):
        build_config({"REDIS_URL": "rediss://h/0", "REDIS_SSL_CA_CERTS": str(tmp_path / "missing")})
    with pytest.raises(ImproperlyConfigured, match="needs both REDIS_SSL_CERTFILE and REDIS_SSL_KEYFILE"):
        build_config({"REDIS_URL": "rediss://h/0", "REDIS_SSL_CERTFILE": str(ca)})
    with pytest.raises(ImproperlyConfigured, match="REDIS_SSL_CERT_REQS'\\] must be one of"):
        build_config({"REDIS_URL": "rediss://h/0", "REDIS_SSL_CERT_REQS": "always"})
    server = build_config({"REDIS_URL": "rediss://h/0", "REDIS_SSL_CA_CERTS": str(ca)}).redis
    assert server.ssl_kwargs() == {"ssl_ca_certs": str(ca), "ssl_cert_reqs": "required"}


def test_queues_as_a_dict_give_queues_their_own_servers(tmp_path: Path):
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    config = build_config(
        {
            "REDIS_URL": "redis://main:6379/0",
            "REDIS_SSL_CA_CERTS": None,
            "QUEUES": {
                "mail": {"REDIS_URL": "redis://mail-redis:6379/0"},
                "reports": {"REDIS_URL": "redis+sentinel://s1,s2/reports/1"},
                "secure": {"REDIS_URL": "rediss://tls-redis:6380/0", "REDIS_SSL_CA_CERTS": str(ca)},
                "same": {"REDIS_URL": "redis://main:6379/0"},
                "plain": {},
                "none": None,
            },
        }
    )
    assert config.queues == ("arq:queue", "mail", "reports", "secure", "same", "plain", "none")
    assert set(config.queue_servers) == {"mail", "reports", "secure"}
    assert server_for("mail", config).url == "redis://mail-redis:6379/0"
    assert server_for("reports", config).master == "reports"
    assert server_for("secure", config).ssl_kwargs()["ssl_ca_certs"] == str(ca)
    assert (
        server_for("same", config) == server_for("plain", config) == server_for(None, config) == config.redis
    )
    grouped = servers(["mail", "plain", "reports", "same"], config)
    assert [(s.url, qs) for s, qs in grouped] == [
        ("redis://main:6379/0", ["plain", "same"]),
        ("redis://mail-redis:6379/0", ["mail"]),
        ("redis+sentinel://s1,s2/reports/1", ["reports"]),
    ]


@pytest.mark.parametrize(
    ("queues", "says"),
    [
        ({"mail": "redis://m/0"}, "must be a dict such as {'REDIS_URL'"),
        ({"mail": {"URL": "redis://m/0"}}, "has unknown keys ['URL']; a queue may set ['REDIS_URL'"),
        ({"mail": {"REDIS_URL": "http://m"}}, "ARQ_DJANGO['QUEUES']['mail']['REDIS_URL'] must be a redis://"),
        ({"mail": {"REDIS_SSL_CERT_REQS": "none"}}, "sets REDIS_SSL_* keys but no REDIS_URL"),
        ({"mail": {"REDIS_URL": "redis+sentinel://s1"}}, "ARQ_DJANGO['QUEUES']['mail']['REDIS_URL']"),
    ],
)
def test_a_bad_queue_entry_names_the_queue_and_the_fix(queues, says):
    with pytest.raises(ImproperlyConfigured) as info:
        build_config({"QUEUES": queues})
    assert says in str(info.value)


def test_enqueue_wait_settings_are_checked():
    assert build_config({}).enqueue_wait_replicas == 0
    config = build_config({"ENQUEUE_WAIT_REPLICAS": 2, "ENQUEUE_WAIT_TIMEOUT": 0.5})
    assert (config.enqueue_wait_replicas, config.enqueue_wait_timeout) == (2, 0.5)
    with pytest.raises(ImproperlyConfigured, match="ENQUEUE_WAIT_REPLICAS'\\] must be a whole number"):
        build_config({"ENQUEUE_WAIT_REPLICAS": -1})
    with pytest.raises(ImproperlyConfigured, match="must be shorter than SOCKET_TIMEOUT"):
        build_config({"ENQUEUE_WAIT_REPLICAS": 1, "ENQUEUE_WAIT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5})
