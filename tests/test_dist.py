"""Installing without a PyPI release (issue 21, points 10 and 11): the wheel ``make dist`` builds holds a
working package, the README says how to install it, and a bare ``make demo`` keeps to its own Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_make_dist_builds_a_wheel_that_installs_and_imports(tmp_path):
    out = tmp_path / "dist"
    subprocess.run(["make", "dist", f"DIST={out}"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("arq_django-*-py3-none-any.whl")
    assert list(out.glob("arq_django-*.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    for part in ("arq_django/py.typed", "arq_django/migrations/0001_initial.py", "arq_django/worker.py"):
        assert part in names
    assert not [n for n in names if n.startswith(("settings/", "demo/", "tests/"))]  # the library only
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", "import arq_django; print(arq_django.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip().startswith(str(site))


def test_readme_says_how_to_install_without_a_release():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use it in a project", 1)[1].split("\n## ", 1)[0]
    assert "make dist" in section and "dist/arq_django-0.1.0-py3-none-any.whl" in section
    assert "pip install -e" in section  # from a checkout
    assert "arq-django[watch]" in readme


def _demo_command(env_redis: str | None, *make_args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if env_redis:
        env["REDIS_URL"] = env_redis
    done = subprocess.run(
        ["make", "-n", "demo", *make_args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    return next(line for line in done.stdout.splitlines() if "manage.py demo" in line)


def test_a_bare_make_demo_uses_the_embedded_redis():
    assert _demo_command(None).startswith("ARQ_EMBEDDED_REDIS=1 ")
    assert _demo_command("redis://127.0.0.1:6379/5").startswith("ARQ_EMBEDDED_REDIS=0 ")
    assert _demo_command(None, "REDIS=local").startswith("ARQ_EMBEDDED_REDIS=0 ")


def test_the_demo_says_which_redis_it_writes_to(tmp_path):
    from demo.management.commands.demo import describe_redis

    embedded = describe_redis(f"unix://{tmp_path / 'redis.sock'}", tmp_path)
    assert "embedded redis-server of the demo's own" in embedded
    chosen = describe_redis("redis://:secret@127.0.0.1:6379/0", tmp_path)
    assert "a server you chose" in chosen and "secret" not in chosen and "127.0.0.1:6379/0" in chosen
