"""Installing without a PyPI release and the demo's Redis (issue 21, points 10 and 11): the README says
how to install from a checkout or the wheel (tests/e2e installs that wheel), and a bare ``make demo``
keeps to a Redis of its own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
