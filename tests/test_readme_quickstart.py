"""The README's quick start, as the e2e suite reads it (tests/e2e/readme.py): every block it runs is
there, and the Python blocks compile. (``make e2e`` runs them; this catches a broken marker fast.)"""

from __future__ import annotations

from tests.e2e import readme


def test_every_block_the_e2e_suite_runs_is_in_the_readme():
    kinds = [(block.kind, block.path) for block in readme.blocks()]
    for needed in [
        ("install", None),
        ("append", "mysite/settings.py"),
        ("write", "shop/jobs.py"),
        ("write", "shop/views.py"),
        ("write", "mysite/urls.py"),
        ("serve", None),
        ("shell", None),
    ]:
        assert needed in kinds, kinds
    assert [argv[:2] for argv in readme.blocks()[0].commands()] == [["make", "dist"], ["pip", "install"]]


def test_the_quick_start_python_compiles():
    for block in readme.blocks():
        if block.kind in ("write", "append"):
            compile(block.body, block.path or "<README>", "exec")
        if block.kind == "shell":
            for step in readme.shell_steps(block):
                compile(step.source, "<README>", "single")


def test_the_serve_block_runs_both_workers_and_both_servers():
    (serve,) = [block for block in readme.blocks() if block.kind == "serve"]
    env, _ = readme.serve_command(serve, "arq arq_django.worker.WorkerSettings")
    assert env == {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
    for program in ("python manage.py arq_worker", "gunicorn", "uvicorn"):
        assert readme.serve_command(serve, program)[1]


def test_shell_transcripts_pair_statements_with_their_output():
    block = readme.Block("shell", None, ">>> x = 1\n>>> x + 1\n2\n")
    assert readme.shell_steps(block) == [readme.ShellStep("x = 1", ""), readme.ShellStep("x + 1", "2")]
