"""The producer side runs without the ``arq`` package (issue 20): a project next to Celery 5.7 installs
``arq-django`` without the ``worker`` extra, on redis-py 6 to 8, which arq 0.28 does not allow.

Statically, no module outside ``arq_django.worker`` imports arq when it loads (worker-only code paths
import it inside the function that builds arq's objects). Then a real process with ``import arq``
blocked (tests/no_arq.py) imports every other module, boots Django, runs the checks and enqueues."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.no_arq import BlockArq

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "arq_django"
WORKER_ONLY = {PACKAGE / "worker", PACKAGE / "management" / "commands" / "arq_worker.py"}


def _worker_side(path: Path) -> bool:
    return any(path == w or w in path.parents for w in WORKER_ONLY)


def _is_arq(module: str) -> bool:
    return module == "arq" or module.startswith("arq.")


def _module_level_arq_imports(path: Path) -> list[str]:
    """``import arq...`` / ``from arq... import`` run when the module loads (not under TYPE_CHECKING,
    not inside a function)."""
    tree = ast.parse(path.read_text())
    nodes = list(tree.body)
    found = []
    for node in nodes:
        if isinstance(node, ast.If) and ast.unparse(node.test) != "TYPE_CHECKING":
            nodes.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            nodes.extend(node.body)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_arq(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_arq(node.module or ""):
            found.append(str(node.module))
    return found


def test_only_the_worker_imports_arq_at_module_level():
    offenders = {
        str(path.relative_to(ROOT)): imports
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _worker_side(path) and (imports := _module_level_arq_imports(path))
    }
    assert offenders == {}


def test_the_static_check_sees_an_arq_import():
    source = (
        "from __future__ import annotations\nif TYPE_CHECKING:\n    import arq\nfrom arq.jobs import Job\n"
    )
    path = ROOT / ".run" / "arq_import_probe.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    try:
        assert _module_level_arq_imports(path) == ["arq.jobs"]
    finally:
        path.unlink()


def test_the_blocker_makes_import_arq_fail():
    script = (
        "import sys; from tests.no_arq import BlockArq; sys.meta_path.insert(0, BlockArq())\n"
        "try:\n    import arq.jobs\nexcept ModuleNotFoundError as e:\n    print('blocked', e.name)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "blocked arq"  # the package itself is what fails to import
    assert BlockArq().find_spec("arqueue", None) is None  # only arq itself


@pytest.mark.integration
def test_the_producer_side_runs_with_arq_blocked(redis_url, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.no_arq"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["arq_loaded"] == []
    producer = {"client.enqueue", "client.handle", "admin", "views.api", "ops.jobs", "dashboard.views",
                "tasks.backend", "model_tasks.submit", "mirror.reconcile", "health",
                "management.commands.arq_status"}  # fmt: skip
    assert {f"arq_django.{m}" for m in producer} <= set(seen["imported"])
    assert seen["status"] == ["queued", "deferred", "queued"]
    assert seen["on_commit"] and seen["aborted"] is True
    assert seen["info"] == ["add", [1, 2]]
    assert seen["depth"] == [[4, 0]]  # three due, and the aborted one moved to the front
    assert seen["health"] == ["backlog", "database", "redis", "workers"]
    message = "arq_django's worker needs the arq package: pip install 'arq-django[worker]'"
    assert seen["errors"] == {"WorkerSettings": message, "arq_worker": message}
