"""A user's worker extension (issue 15), in the quick start's ``startproject`` with the wheel installed:
the README's ``JobAudit`` example in ``shop/extensions.py``, listed in ``ARQ_DJANGO["WORKER_EXTENSIONS"]``,
sees the worker start, every job end (a completed one, a failed one) and the worker stop; a misspelt
path fails ``manage.py check`` with ``arq_django.E006``."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e import readme
from tests.e2e.conftest import Stack
from tests.e2e.project import wait_for

pytestmark = pytest.mark.e2e


def _records(stack: Stack) -> list[dict[str, Any]]:
    audit = stack.project.root / "job-audit.jsonl"
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


def _enqueue(stack: Stack, code: str) -> str:
    out = stack.project.shell(f"from arq_django import enqueue\nprint(enqueue({code}).job_id)")
    return out.strip().splitlines()[-1]


def test_the_readme_extension_audits_the_users_jobs(stack: Stack) -> None:
    (stack.project.root / "shop" / "extensions.py").write_text(readme.example("shop/extensions.py"))
    settings = stack.project.root / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + readme.example("mysite/settings.py"))
    assert "System check identified no issues" in stack.project.manage("check").stdout
    worker = stack.start_worker()  # after the settings name the extension
    started = wait_for(lambda: [r for r in _records(stack) if r["event"] == "start"], 30, "the start record")
    assert started == [{"event": "start", "queue": "arq:queue", "worker": started[0]["worker"]}]
    assert started[0]["worker"].endswith(f":{worker.pid}")
    ok = _enqueue(stack, "'add', 2, 3")
    bad = _enqueue(stack, "'charge_card', 12")

    def both_ended() -> dict[str, dict[str, Any]] | None:
        found = {r["job_id"]: r for r in _records(stack) if r.get("job_id") in (ok, bad)}
        return found if len(found) == 2 else None

    ends = wait_for(both_ended, 60, "the two end records")
    assert ends[ok]["function"] == "add" and ends[ok]["outcome"] == "complete" and ends[ok]["error"] == ""
    assert ends[bad]["outcome"] == "failed" and ends[bad]["error"] == "ValueError: card declined for 12"
    assert stack.project.wait_row(ok, "complete")["status"] == "complete"  # the mirror works alongside
    stack.stop_worker()
    assert _records(stack)[-1] == {"event": "stop", "queue": "arq:queue"}


def test_a_misspelt_extension_path_fails_the_check(stack: Stack) -> None:
    settings = stack.project.root / "mysite" / "settings.py"
    original = settings.read_text()
    settings.write_text(original + '\nARQ_DJANGO["WORKER_EXTENSIONS"] = ["shop.extensions.JobAduit"]\n')
    try:
        done = subprocess.run(
            [stack.project.venv.bin("python"), "manage.py", "check"],
            cwd=stack.project.root,
            env=stack.project.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        settings.write_text(original)
    assert done.returncode == 1
    assert "arq_django.E006" in done.stderr and "'shop.extensions.JobAduit' cannot be imported" in done.stderr
