"""``rediss://`` end to end: a TLS-only redis-server requiring client certificates (made with openssl),
a real worker process, health; a wrong CA fails with a message that says what to fix."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test import Client

from arq_django import EnqueueError, enqueue
from arq_django.connection import close_sync_clients
from tests.conftest import ROOT
from tests.redis_servers import Certificates, RedisProcess, certificates, tls_redis  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def tls_settings(server: RedisProcess, certs: Certificates, ca: str | None = None) -> dict[str, str]:
    return {
        "REDIS_URL": f"rediss://127.0.0.1:{server.port}/0",
        "REDIS_SSL_CA_CERTS": ca or str(certs.ca),
        "REDIS_SSL_CERTFILE": str(certs.client_cert),
        "REDIS_SSL_KEYFILE": str(certs.client_key),
    }


@pytest.fixture
def over_tls(settings, redis_url, tls_redis, certificates):  # noqa: F811
    extra = tls_settings(tls_redis, certificates)
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **extra}
    yield extra
    close_sync_clients()


def test_enqueue_run_and_health_over_rediss(over_tls, start_worker, tls_redis):  # noqa: F811
    handle = enqueue("add", 2, 3)
    assert handle is not None and tls_redis.client().exists(f"arq:job:{handle.job_id}")
    start_worker(
        cli="manage",
        env={"REDIS_URL": over_tls["REDIS_URL"], "ARQ_DJANGO_EXTRA": json.dumps(over_tls)},
    )
    assert handle.result(timeout=30) == 5
    response = Client().get("/arq/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["redis"]["ok"] and body["checks"]["workers"]["queues"] == {"arq:queue": 1}


def test_a_wrong_ca_fails_clearly_in_enqueue_health_and_the_worker(
    settings,
    redis_url,
    tls_redis,  # noqa: F811
    certificates,  # noqa: F811
    worker_env,
):
    wrong = tls_settings(tls_redis, certificates, ca=str(certificates.other_ca))
    settings.ARQ_DJANGO = {**settings.ARQ_DJANGO, **wrong, "HEALTH_CHECKS": ["redis"]}
    try:
        with pytest.raises(EnqueueError) as info:
            enqueue("add", 1, 1)
        message = str(info.value)
        assert f"rediss://127.0.0.1:{tls_redis.port}/0" in message
        assert "TLS certificate verification failed" in message and "REDIS_SSL_CA_CERTS" in message
        response = Client().get("/arq/health/")
        assert response.status_code == 503 and not response.json()["checks"]["redis"]["ok"]
    finally:
        close_sync_clients()
    env = {**worker_env, "REDIS_URL": wrong["REDIS_URL"], "ARQ_DJANGO_EXTRA": json.dumps(wrong)}
    worker = subprocess.run(
        [sys.executable, "manage.py", "arq_worker", "--redis-retries", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode != 0
    assert "TLS certificate verification failed" in worker.stderr + worker.stdout, worker.stderr
