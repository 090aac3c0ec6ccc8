"""A Django Tasks project (issue 16): ``startproject`` with ``TASKS`` pointing at ``ArqBackend`` and the
built wheel installed; ``@task`` functions enqueued from a view and run by ``arq
arq_django.worker.WorkerSettings``, with no ``@job`` in the project at all."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import redis

from .conftest import CELLS, WORK, _postgres_database, _redis_url
from .project import Browser, Cell, UserProject, UserVenv, free_port, wait_for

pytestmark = pytest.mark.e2e

SETTINGS = """
import os

INSTALLED_APPS += ["arq_django", "orders"]
ARQ_DJANGO = {"REDIS_URL": os.environ.get("REDIS_URL", "redis://localhost:6379/0"), "QUEUES": ["mail"]}
TASKS = {"default": {"BACKEND": "arq_django.tasks.ArqBackend", "QUEUES": ["default", "mail"]}}
"""

TASKS_MODULE = """
try:
    from django.tasks import task
except ImportError:  # Django 5.2: the backport, from arq-django[tasks]
    from django_tasks import task


@task
def total(a: int, b: int) -> int:
    return a + b


@task(queue_name="mail", takes_context=True)
async def notify(context, user: str) -> str:
    return f"{user} (attempt {context.attempt})"


@task
def refuse(reason: str) -> None:
    raise PermissionError(reason)
"""

VIEWS = """
from django.http import JsonResponse

from .tasks import notify, refuse, total


def enqueue_total(request):
    result = total.enqueue(int(request.GET["a"]), int(request.GET["b"]))
    return JsonResponse({"id": result.id, "status": result.status})


def enqueue_others(request):
    return JsonResponse({"notify": notify.enqueue("ada").id, "refuse": refuse.enqueue("no").id})


def result(request, result_id):
    found = total.get_backend().get_result(result_id)
    body = {"status": found.status, "errors": [e.exception_class_path for e in found.errors]}
    if found.status == "SUCCESSFUL":
        body["value"] = found.return_value
    return JsonResponse(body)
"""

URLS = """
from django.urls import path

from orders import views

urlpatterns = [
    path("total/", views.enqueue_total),
    path("others/", views.enqueue_others),
    path("result/<str:result_id>/", views.result),
]
"""


class TasksStack:
    def __init__(self, project: UserProject) -> None:
        self.project = project
        env = {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
        self.worker = project.start(env, ["arq", "arq_django.worker.WorkerSettings"], "tasks-worker")
        mail = ["python", "manage.py", "arq_worker", "--queue", "mail"]
        self.mail_worker = project.start(env, mail, "tasks-mail-worker")
        port = free_port()
        web = project.start({}, ["gunicorn", "mysite.wsgi", "-b", f"127.0.0.1:{port}"], "tasks-gunicorn")
        self.web = Browser(f"http://127.0.0.1:{port}")
        wait_for(lambda: not web.alive() or self.web.ping("/result/x/") in (200, 500), 60, "gunicorn")
        assert web.alive(), web

    def wait_result(self, result_id: str, *statuses: str) -> dict[str, object]:
        def done() -> dict[str, object] | None:
            code, body = self.web.get_json(f"/result/{result_id}/")
            return body if code == 200 and body["status"] in statuses else None

        return wait_for(done, 30, f"task {result_id} reaching {statuses}: {self.project.processes}")


@pytest.fixture(scope="module", params=CELLS, ids=lambda cell: cell.id)
def tasks_stack(request: pytest.FixtureRequest, user_venv: UserVenv) -> Iterator[TasksStack]:
    cell: Cell = request.param
    client = redis.Redis.from_url(_redis_url())
    client.flushdb()
    workdir = WORK / f"tasks-{cell.id}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    database_url = _postgres_database(cell) if cell.database == "postgres" else None
    project = UserProject(workdir, user_venv, cell, _redis_url(), database_url)
    django_major = int(user_venv.run_python("import django; print(django.VERSION[0])").strip())
    if django_major < 6:  # the backport, as `pip install arq-django[tasks]` brings it
        project.run([user_venv.bin("pip"), "install", "--quiet", "django-tasks>=0.12"], cwd=workdir)
    project.run([user_venv.bin("django-admin"), "startproject", "mysite"], cwd=workdir)
    project.manage("startapp", "orders")
    project._apply_cell_once()
    with (project.root / "mysite" / "settings.py").open("a") as f:
        f.write(SETTINGS)
    (project.root / "orders" / "tasks.py").write_text(TASKS_MODULE)
    (project.root / "orders" / "views.py").write_text(VIEWS)
    (project.root / "mysite" / "urls.py").write_text(URLS)
    project.manage("migrate", "--noinput")
    check = project.manage("check")
    assert "no issues" in check.stdout + check.stderr, check
    try:
        yield TasksStack(project)
    finally:
        project.stop_all()
        client.flushdb()
        client.close()


def test_task_enqueued_from_a_view_runs_on_the_worker(tasks_stack: TasksStack) -> None:
    code, body = tasks_stack.web.get_json("/total/?a=20&b=22")
    assert code == 200 and body["status"] == "READY", body
    done = tasks_stack.wait_result(body["id"], "SUCCESSFUL", "FAILED")
    assert done == {"status": "SUCCESSFUL", "errors": [], "value": 42}, tasks_stack.project.processes
    row = tasks_stack.project.wait_row(body["id"], "complete")
    assert row["function"] == "orders.tasks.total"  # the admin and the commands show the module_path


def test_async_context_task_on_its_queue_and_a_failing_task(tasks_stack: TasksStack) -> None:
    code, body = tasks_stack.web.get_json("/others/")
    assert code == 200, body
    row = tasks_stack.project.wait_row(body["notify"], "complete")
    assert row["result"] == "ada (attempt 1)" and row["queue_name"] == "mail"
    failed = tasks_stack.wait_result(body["refuse"], "FAILED", "SUCCESSFUL")
    assert failed["status"] == "FAILED" and failed["errors"] == ["builtins.PermissionError"]


def test_commands_show_tasks_by_module_path(tasks_stack: TasksStack) -> None:
    code, body = tasks_stack.web.get_json("/total/?a=1&b=2")
    assert code == 200, body
    tasks_stack.wait_result(body["id"], "SUCCESSFUL")
    listed = tasks_stack.project.manage("arq_results")
    assert "orders.tasks.total" in listed.stdout, listed.stdout
    assert tasks_stack.worker.alive() and tasks_stack.mail_worker.alive(), tasks_stack.project.processes
