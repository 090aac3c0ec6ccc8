"""At app start a process imports what its first ``enqueue()`` would otherwise import on the caller's
clock (``arq_django.startup``): the job modules, the idna codec, the mirror's row buffer. Each check runs
``django.setup()`` in a fresh interpreter, as a web worker or a script starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

AFTER_SETUP = """
import json, sys
import django
django.setup()
from arq_django.jobs.registry import registry
loaded = set(sys.modules)
spec = registry.get("add")
print(json.dumps({
    "discovered": registry._discovered,
    "jobs_module": "tests.jobs_app.jobs" in loaded,
    "idna": "encodings.idna" in loaded,
    "buffer": "arq_django.mirror.buffer" in loaded,
    "imported_by_first_lookup": sorted(set(sys.modules) - loaded),
    "found": spec.path,
}))
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


def test_after_setup_the_first_lookup_imports_nothing():
    done = _python(AFTER_SETUP)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["discovered"] and report["jobs_module"] and report["idna"] and report["buffer"]
    assert report["imported_by_first_lookup"] == []
    assert report["found"] == "tests.jobs_app.jobs.add"


def test_a_job_module_that_fails_to_import_fails_start_up_naming_it(tmp_path):
    app = tmp_path / "brokenjobsapp"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "jobs.py").write_text('raise RuntimeError("brokenjobsapp cannot start: REQUIRED_KEY is unset")\n')
    (tmp_path / "broken_settings.py").write_text(
        "from settings.test import *  # noqa: F403\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'brokenjobsapp']  # noqa: F405\n"
    )
    done = _python(
        "import django; django.setup()", DJANGO_SETTINGS_MODULE="broken_settings", PYTHONPATH=str(tmp_path)
    )
    assert done.returncode != 0
    assert "brokenjobsapp/jobs.py" in done.stderr and "REQUIRED_KEY is unset" in done.stderr


def test_bad_settings_still_reach_the_system_checks(tmp_path):
    (tmp_path / "bad_settings.py").write_text(
        "from settings.test import *  # noqa: F403\n"
        "ARQ_DJANGO = {**ARQ_DJANGO, 'MAX_JOBS': 0}  # noqa: F405\n"
    )
    done = _python(
        "import django\ndjango.setup()\n"
        "from django.core.management import call_command\ncall_command('check')",
        DJANGO_SETTINGS_MODULE="bad_settings",
        PYTHONPATH=str(tmp_path),
    )
    assert done.returncode != 0
    assert "SystemCheckError" in done.stderr and "MAX_JOBS" in done.stderr, done.stderr
