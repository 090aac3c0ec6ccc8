"""A Celery project moving to arq_django (issue 20): ``celery[redis]`` 5.7 and redis-py 8 in one venv
with our wheel installed without the ``worker`` extra (``make test-celery-coinstall`` builds it and
names it in ``CELERY_VENV``). The project enqueues there, next to a Celery app that sends a task to the
same Redis database; a worker in this venv (arq, redis-py 5) runs the jobs; the Celery venv reads the
results back through handles and the result mirror, and Celery's message is still where kombu put it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.user_project import UserProject, make_project

pytestmark = [pytest.mark.coinstall, pytest.mark.integration]

JOBS = """\
from arq_django import Retry, job


@job
async def add(ctx, a, b):
    return a + b


@job("sync_multiply")
def multiply(ctx, a, b):
    return a * b


@job(max_tries=1)
async def boom(ctx, message):
    raise ValueError(message)


@job(max_tries=3)
async def flaky(ctx):
    if ctx["job_try"] == 1:
        raise Retry()  # arq_django.Retry: importable where arq is not installed
    return ctx["job_try"]
"""

CELERY_APP = """\
import os

from celery import Celery

app = Celery("userproj", broker=os.environ["REDIS_URL"])
app.conf.task_default_queue = "celery"


@app.task(name="shop.legacy_add")
def legacy_add(a, b):
    return a + b
"""

PRODUCE = """\
import asyncio, importlib.metadata as md, importlib.util, json, os, sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "userproj.settings")
django.setup()
from django.core.management import call_command
from django.db import transaction

from arq_django import aenqueue, enqueue, enqueue_on_commit
from userproj.celery import legacy_add

call_command("check", fail_level="ERROR")
celery_task = legacy_add.delay(1, 2)  # kombu's Redis transport, on redis-py 8
ids = {"add": [enqueue("add", i, i).job_id for i in range(20)]}
ids["async"] = asyncio.run(aenqueue("add", 100, 1)).job_id
with transaction.atomic():
    ids["on_commit"] = enqueue_on_commit("add", 200, 2).job_id
ids["sync"] = enqueue("sync_multiply", 6, 7).job_id
ids["boom"] = enqueue("boom", "bad input").job_id
ids["flaky"] = enqueue("flaky").job_id
print(json.dumps({
    "ids": ids,
    "celery_task": celery_task.id,
    "versions": {name: md.version(name) for name in ("celery", "kombu", "redis", "arq-django")},
    "arq_installed": importlib.util.find_spec("arq") is not None,
}))
"""

READ = """\
import json, os, sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "userproj.settings")
django.setup()
from arq_django import JobFailed, JobHandle
from arq_django.models import JobResult

ids = json.loads(sys.argv[1])
handles = {name: JobHandle(i) for name, i in ids.items() if isinstance(i, str)}
try:
    handles["boom"].result(timeout=5)
    boom = None
except JobFailed as e:
    boom = str(e)
print(json.dumps({
    "add": [JobHandle(i).result(timeout=5) for i in ids["add"]],
    "results": {name: h.result(timeout=5) for name, h in handles.items() if name != "boom"},
    "statuses": {name: h.status() for name, h in handles.items()},
    "flaky_try": handles["flaky"].result_info().job_try,
    "boom": boom,
    "rows": sorted(set(JobResult.objects.values_list("function", "status"))),
    "row_count": JobResult.objects.count(),
}))
"""


def _celery_venv() -> Path:
    path = os.environ.get("CELERY_VENV")
    if not path:
        pytest.fail("CELERY_VENV names the Celery venv: run `make test-celery-coinstall`")
    return Path(path).resolve()


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _project(root: Path, redis_url: str) -> UserProject:
    project = make_project(root, redis_url, migrate=False)
    project.jobs.write_text(JOBS)
    (root / "userproj" / "celery.py").write_text(CELERY_APP)
    (root / "produce.py").write_text(PRODUCE)
    (root / "read.py").write_text(READ)
    return project


def test_a_celery_project_enqueues_and_our_worker_runs_the_jobs(redis_url, tmp_path):
    celery_python = str(_celery_venv() / "bin" / "python")
    project = _project(tmp_path / "proj", redis_url)
    env = project.env(redis_url)
    # The Celery venv holds the wheel, not this checkout: nothing of the repository on its path.
    celery_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}

    _run([celery_python, "-m", "pip", "check"], celery_env, project.root)
    _run([celery_python, "manage.py", "migrate", "-v", "0"], celery_env, project.root)
    produced = json.loads(_run([celery_python, "produce.py"], celery_env, project.root).splitlines()[-1])
    versions = produced["versions"]
    assert versions["celery"].startswith("5.7.") and versions["redis"].startswith("8.")
    assert produced["arq_installed"] is False
    located = _run(
        [celery_python, "-c", "import arq_django; print(arq_django.__file__)"], celery_env, tmp_path
    )
    assert "site-packages" in located  # the installed wheel, not the checkout

    client = redis.Redis.from_url(redis_url)
    assert client.llen("celery") == 1  # kombu's queue: a list named after the Celery queue
    assert client.scard("_kombu.binding.celery") >= 1
    before = {k.decode() for k in client.keys("*")}
    kombu_keys = {k for k in before if not k.startswith(("arq:", "arq_django:"))}
    # kombu's names (the queue, _kombu.binding.*, unacked*) never start with arq's or ours.
    assert "celery" in kombu_keys and all(k == "celery" or k.startswith("_kombu.") for k in kombu_keys)

    # Our worker, in this venv (arq 0.28, redis-py 5), in the same project directory and database.
    worker = subprocess.run(
        [sys.executable, str(project.root / "manage.py"), "arq_worker", "--burst"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-3000:]

    read = json.loads(
        _run([celery_python, "read.py", json.dumps(produced["ids"])], celery_env, project.root).splitlines()[
            -1
        ]
    )
    assert read["add"] == [2 * i for i in range(20)]
    assert read["results"] == {"async": 101, "on_commit": 202, "sync": 42, "flaky": 2}
    assert read["flaky_try"] == 2
    assert read["boom"] == "builtins.ValueError: bad input"  # JSON keeps the dotted type name
    assert read["statuses"] == {
        "async": "complete",
        "on_commit": "complete",
        "sync": "complete",
        "boom": "failed",
        "flaky": "complete",
    }
    assert read["row_count"] == 25
    assert read["rows"] == [
        ["add", "complete"],
        ["boom", "failed"],
        ["flaky", "complete"],
        ["sync_multiply", "complete"],
    ]

    # The worker left Celery's keys alone: the message waits for a Celery worker.
    assert client.llen("celery") == 1
    message = json.loads(client.lindex("celery", 0))
    assert (
        message["headers"]["task"] == "shop.legacy_add"
        and message["headers"]["id"] == produced["celery_task"]
    )
    client.close()


def test_the_worker_without_arq_says_which_extra_to_install(redis_url, tmp_path):
    celery_python = str(_celery_venv() / "bin" / "python")
    project = _project(tmp_path / "proj", redis_url)
    env = {k: v for k, v in project.env(redis_url).items() if k != "PYTHONPATH"}
    message = "arq_django's worker needs the arq package: pip install 'arq-django[worker]'"
    done = subprocess.run(
        [celery_python, "manage.py", "arq_worker"], cwd=project.root, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and message in done.stderr
    done = subprocess.run(
        [celery_python, "-c", "import arq_django.worker as w; w.WorkerSettings"],
        cwd=project.root,
        env={**env, "DJANGO_SETTINGS_MODULE": "userproj.settings"},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and message in done.stderr


def test_the_producer_side_on_redis_py_8_next_to_celery(redis_url, tmp_path):
    """tests/no_arq.py (every module but the worker's imported, checks, migrate, enqueue sync, async and
    on commit, handles, abort, ops status, health) with the Celery venv's Python: redis-py 8, kombu 5.7,
    and arq really absent rather than blocked. This checkout's code, on this repository's test settings."""
    celery_python = str(_celery_venv() / "bin" / "python")
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    root = Path(__file__).resolve().parents[2]
    probe = (
        "import redis, runpy; print('redis-py', redis.__version__); "
        "runpy.run_module('tests.no_arq', run_name='__main__')"
    )
    out = _run([celery_python, "-c", probe], env, root).splitlines()
    assert out[0].startswith("redis-py 8.")
    seen = json.loads(out[-1])
    assert seen["arq_loaded"] == [] and len(seen["imported"]) > 90
    assert seen["status"] == ["queued", "deferred", "queued"] and seen["aborted"] is True
    assert seen["health"] == ["backlog", "database", "redis", "workers"]
    assert set(seen["errors"]) == {"WorkerSettings", "arq_worker"}
