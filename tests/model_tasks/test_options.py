"""A task model's options: ``TaskMeta`` or ``task_options``, checked when the model is defined."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from arq_django.jobs.registry import registry
from arq_django.model_tasks.options import TaskOptions, options_for
from tests.conftest import ROOT
from tests.model_tasks_app.models import AsyncExport, Export, Flaky


def test_task_meta_becomes_the_jobs_options():
    spec = registry.get("tests_model_tasks_app.Export.do_task")
    assert spec.queue == "rows" and spec.max_tries == 3 and not spec.is_async
    assert spec.retry is not None and spec.retry.retry_on == (Flaky,) and spec.retry.backoff == 0
    assert options_for(Export).on_stuck == "recover"
    asynchronous = registry.get("tests_model_tasks_app.AsyncExport.do_task")
    assert asynchronous.is_async and asynchronous.timeout == 3.0
    assert options_for(AsyncExport) == TaskOptions(queue="rows", timeout=3)


def test_bad_options_name_the_model_and_the_fix():
    class Typo:
        TaskMeta = type("TaskMeta", (), {"queeu": "rows"})

    with pytest.raises(
        ImproperlyConfigured, match=r"Typo.TaskMeta: unknown options \['queeu'\]; choose from"
    ):
        options_for(Typo)

    class BadStuck:
        TaskMeta = type("TaskMeta", (), {"on_stuck": "drop"})

    with pytest.raises(ImproperlyConfigured, match="on_stuck must be 'recover' or 'fail', got 'drop'"):
        options_for(BadStuck)

    class NotOptions:
        task_options = {"queue": "rows"}

    with pytest.raises(ImproperlyConfigured, match=r"task_options must be a TaskOptions\(...\)"):
        options_for(NotOptions)


@pytest.mark.parametrize("module", ["arq_django.models", "arq_django.model_tasks.model"])
def test_an_app_before_arq_django_can_import_task_model_from_either_module(module, tmp_path):
    (tmp_path / "earlyapp").mkdir()
    (tmp_path / "earlyapp" / "__init__.py").write_text("")
    (tmp_path / "earlyapp" / "models.py").write_text(
        f"from {module} import TaskModel\n\nclass Job(TaskModel):\n    def do_task(self):\n        return 1\n"
    )
    code = (
        "import django\nfrom django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes', 'earlyapp', 'arq_django'], "
        "DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}, USE_TZ=True)\n"
        "django.setup()\nfrom arq_django.models import TaskModel\n"
        "from arq_django.jobs.registry import registry\n"
        "print(TaskModel._meta.abstract, registry.get('earlyapp.Job.do_task').name)"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "earlyapp.Job.do_task"]


def test_a_rows_statuses_are_the_mirrors():
    from arq_django.models import JobResult

    assert Export._meta.get_field("status").choices == JobResult.Status.choices
