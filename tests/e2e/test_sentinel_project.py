"""Beyond one Redis in a user's project (issue 20): the quick start's ``startproject`` with the wheel
installed, its ``REDIS_URL`` a ``redis+sentinel://`` URL (passwords on the master and on the sentinel)
to a sentinel watching a redis-server and its replica, and ``QUEUES`` putting ``mail`` on a second
redis-server. A job for each is enqueued from ``manage.py shell`` and run by a real worker of its queue;
the results come back to the shell, the mirror's rows and the health report cover both servers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.e2e import readme
from tests.e2e.conftest import CELLS, WORK, _postgres_database
from tests.e2e.project import Process, UserProject, UserVenv, wait_for
from tests.redis_servers import RedisProcess, SentinelSet, start_redis, start_sentinel_set

pytestmark = pytest.mark.e2e

MAIL_JOB = """

@job(queue="mail")
async def send_welcome(ctx, to: str) -> str:
    return f"welcome sent to {to}"
"""

SETTINGS = """
ARQ_DJANGO["QUEUES"] = {{"mail": {{"REDIS_URL": "redis://127.0.0.1:{port}/0"}}}}
ARQ_DJANGO["HEALTH_MIN_WORKERS"] = {{"arq:queue": 1, "mail": 1}}
"""

SHELL = """
import json
from arq_django import enqueue
add, mail = enqueue("add", 2, 3), enqueue("send_welcome", "ada@example.com")
results = {"add": [add.job_id, add.result(timeout=60)], "mail": [mail.job_id, mail.result(timeout=60)]}
print(json.dumps(results))
"""


@dataclass
class Site:
    project: UserProject
    cluster: SentinelSet
    mail: RedisProcess

    def primary(self) -> redis.Redis:
        return self.cluster.primary.client(password=self.cluster.master_password)

    def start_worker(self, queue: str, server: redis.Redis) -> Process:
        """The README's ``arq`` worker line for ``queue``; returned once its heartbeat is on ``server``."""
        serve = next(block for block in readme.blocks() if block.kind == "serve")
        env, command = readme.serve_command(serve, "arq arq_django.worker.WorkerSettings")
        worker = self.project.start({**env, "ARQ_QUEUE": queue}, command, f"worker-{queue}")

        def beating() -> bool:
            return any(f":{worker.pid}:" in key.decode() for key in server.scan_iter("arq_django:worker:*"))

        wait_for(lambda: not worker.alive() or beating(), 60, f"the {queue} worker's heartbeat")
        assert worker.alive(), worker
        return worker


@pytest.fixture(scope="module", params=CELLS, ids=lambda cell: cell.id)
def site(
    request: pytest.FixtureRequest, user_venv: UserVenv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    servers: Path = tmp_path_factory.mktemp("servers")
    cluster = start_sentinel_set(servers / "sentinel", replicas=1, sentinels=1)
    mail = start_redis(servers / "mail")
    workdir = WORK / f"sentinel-{request.param.id}"
    shutil.rmtree(workdir, ignore_errors=True)
    database_url = _postgres_database(request.param) if request.param.database == "postgres" else None
    project = UserProject(workdir, user_venv, request.param, cluster.url(), database_url)
    try:
        project.create()
        with (project.root / "mysite" / "settings.py").open("a") as f:
            f.write(SETTINGS.format(port=mail.port))
        with (project.root / "shop" / "jobs.py").open("a") as f:
            f.write(MAIL_JOB)
        yield Site(project, cluster, mail)
    finally:
        project.stop_all()
        mail.stop()
        cluster.stop()


def test_jobs_run_through_the_sentinel_and_on_the_queues_own_redis(site: Site) -> None:
    project = site.project
    assert project.redis_url.startswith("redis+sentinel://")  # the quick start's REDIS_URL, as given
    mail_server = site.mail.client()
    site.start_worker("arq:queue", site.primary())
    site.start_worker("mail", mail_server)

    out = json.loads(project.shell(SHELL).strip().splitlines()[-1])
    (add_id, added), (mail_id, sent) = out["add"], out["mail"]
    assert (added, sent) == (5, "welcome sent to ada@example.com")
    # Each job lived on its own server: the default queue's on the Sentinel master (and its replica).
    primary, replica = site.primary(), site.cluster.replicas[0].client(password=site.cluster.master_password)
    assert primary.exists(f"arq:result:{add_id}") and not mail_server.exists(f"arq:result:{add_id}")
    assert mail_server.exists(f"arq:result:{mail_id}") and not primary.exists(f"arq:result:{mail_id}")
    wait_for(lambda: replica.exists(f"arq:result:{add_id}"), 10, "the replica's copy")
    assert project.wait_row(add_id, "complete")["result"] == 5
    assert project.wait_row(mail_id, "complete")["queue_name"] == "mail"

    report = json.loads(project.manage("arq_health", "--json").stdout)
    assert report["status"] == "ok", report
    assert {"redis", "redis[mail]", "workers", "workers[mail]"} <= set(report["checks"]), report
