"""Tasks as rows in a user's project (issue 19): the quick start's ``startproject`` with the wheel
installed, an app model subclassing ``TaskModel`` (``makemigrations`` + ``migrate`` there), a row created
from ``manage.py shell`` and run by ``arq arq_django.worker.WorkerSettings``, the outcome on the row."""

from __future__ import annotations

import json

import pytest

from .conftest import Stack
from .project import wait_for

pytestmark = pytest.mark.e2e

MODELS = """
from django.db import models

from arq_django.models import TaskModel


class Export(TaskModel):
    label = models.CharField(max_length=64)
    lines = models.IntegerField(null=True)

    class TaskMeta:
        max_tries = 2

    def do_task(self):
        if self.label == "broken":
            raise ValueError("no such report")
        self.lines = len(self.label)
        return {"label": self.label, "try": self.ctx["job_try"]}
"""

READ = (
    "import json\nfrom shop.models import Export\n"
    "row = Export.objects.get(pk={pk})\n"
    "print(json.dumps(dict(status=row.status, result=row.result, error=row.error, lines=row.lines, "
    "job_id=row.job_id, mirror=getattr(row.job_result(), 'status', None))))"
)


def _row(stack: Stack, pk: int) -> dict[str, object]:
    return json.loads(stack.project.shell(READ.format(pk=pk)).strip().splitlines()[-1])


def _create(stack: Stack, label: str) -> int:
    code = f"from shop.models import Export\nprint(Export.objects.create(label={label!r}).pk)"
    return int(stack.project.shell(code).strip().splitlines()[-1])


def test_a_task_row_runs_in_the_users_project(stack: Stack) -> None:
    models_py = stack.project.root / "shop" / "models.py"
    models_py.write_text(models_py.read_text() + MODELS)
    made = stack.project.manage("makemigrations", "shop").stdout
    assert "Create model Export" in made
    stack.project.manage("migrate", "--noinput", "-v", "0")
    stack.start_worker("arq arq_django.worker.WorkerSettings")  # started after the model exists
    pk = _create(stack, "quarterly")
    done = wait_for(lambda: (row := _row(stack, pk))["status"] == "complete" and row, 60, "the row's outcome")
    assert done["result"] == {"label": "quarterly", "try": 1} and done["lines"] == len("quarterly")
    assert done["mirror"] == "complete"  # the run's JobResult, linked by job_id
    broken = _create(stack, "broken")
    failed = wait_for(lambda: (row := _row(stack, broken))["status"] == "failed" and row, 60, "the failure")
    assert failed["error"] == "ValueError: no such report"
    stack.stop_worker()
