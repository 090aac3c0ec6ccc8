"""A user's project, made the way a user makes one: a fresh virtualenv with our wheel installed, a
``django-admin startproject`` with its defaults, the README's quick start, real worker and web-server
processes. Nothing here imports arq_django: the driver only talks to the project's processes, its
database and Redis."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e import readme

REPO = Path(__file__).resolve().parents[2]
HEARTBEATS = "arq_django:worker:*"
_DROPPED_ENV = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL")


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: the project's database and its ``DEBUG``."""

    database: str  # "sqlite" or "postgres"
    debug: bool

    @classmethod
    def parse(cls, text: str) -> Cell:
        database, _, debug = text.partition("-")
        if database not in ("sqlite", "postgres") or debug not in ("debug", "nodebug"):
            raise ValueError(f"E2E_CELLS: {text!r} is not <sqlite|postgres>-<debug|nodebug>")
        return cls(database, debug == "debug")

    @property
    def id(self) -> str:
        return f"{self.database}-{'debug' if self.debug else 'nodebug'}"


@dataclass
class UserVenv:
    """A virtualenv holding only what a user installs: our wheel, Django, the web servers."""

    path: Path

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def run_python(self, code: str) -> str:
        return subprocess.run(
            [self.bin("python"), "-c", code], check=True, capture_output=True, text=True
        ).stdout

    @classmethod
    def create(cls, path: Path, python: str, requirements: list[str]) -> UserVenv:
        subprocess.run([python, "-m", "venv", "--clear", str(path)], check=True)
        venv = cls(path)
        pip = [venv.bin("python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *requirements], check=True)
        return venv


class Process:
    """A long-running process of the project (worker, web server), its output in a log file."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.argv = argv
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode

    def __repr__(self) -> str:
        return f"<{' '.join(self.argv)}: {self.output()[-3000:]}>"


class Browser:
    """An HTTP client with a cookie jar, as a logged-in staff user's browser would be."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: dict[str, Any] | None = None) -> tuple[int, str]:
        body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body)
        if body is not None:
            request.add_header("Referer", self.base + path)  # Django's CSRF check (and HTTPS-less origin)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def ping(self, path: str) -> int:
        """The status of ``path``, or 0 while nothing listens yet."""
        try:
            return self.request(path)[0]
        except urllib.error.URLError:
            return 0

    def get_json(self, path: str) -> tuple[int, Any]:
        status, text = self.request(path)
        return status, json.loads(text)

    def csrf_token(self, page: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, page[:2000]
        return match.group(1)

    def login_admin(self, username: str, password: str) -> None:
        status, page = self.request("/admin/login/?next=/admin/")
        assert status == 200, page[:2000]
        form = {"csrfmiddlewaretoken": self.csrf_token(page), "username": username, "password": password}
        status, page = self.request("/admin/login/?next=/admin/", form)
        assert status == 200 and "logout" in page.lower(), page[:2000]


@dataclass
class UserProject:
    """``django-admin startproject mysite`` plus the README's quick start, in ``workdir``."""

    workdir: Path
    venv: UserVenv
    cell: Cell
    redis_url: str
    database_url: str | None = None
    """PostgreSQL cells: the database the project uses."""
    processes: list[Process] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.workdir / "mysite"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("ARQ_")}
        env["PATH"] = f"{self.venv.path / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["REDIS_URL"] = self.redis_url
        return {**env, **extra}

    # -- made from the README -----------------------------------------------------------------------
    def create(self) -> None:
        cwd = self.workdir
        cwd.mkdir(parents=True, exist_ok=True)
        for block in readme.blocks():
            if block.kind == "run":
                cwd = self._run_block(block, cwd)
            elif block.kind in ("write", "append"):
                assert block.path, block
                target = self.root / block.path
                if block.kind == "write":
                    target.write_text(block.body)
                else:
                    with target.open("a") as f:
                        f.write("\n" + block.body)
            if block.kind == "run" and (self.root / "mysite" / "settings.py").exists():
                self._apply_cell_once()
        assert (self.root / "db.sqlite3").exists() or self.cell.database == "postgres", "migrate did not run"

    def _run_block(self, block: readme.Block, cwd: Path) -> Path:
        for argv in block.commands():
            if argv[0] == "cd":
                cwd = cwd / argv[1]
                continue
            env, command = readme.split_env(argv)
            if command[0] in ("python", "django-admin"):
                command = [self.venv.bin(command[0]), *command[1:]]
            self.run(command, cwd=cwd, env=env)
        return cwd

    _cell_applied: bool = False

    def _apply_cell_once(self) -> None:
        """The project's own choices that are not ours: ``DEBUG`` off (which needs ``ALLOWED_HOSTS``), and
        PostgreSQL instead of startproject's SQLite. Applied once, before ``migrate``."""
        if self._cell_applied:
            return
        self._cell_applied = True
        settings = self.root / "mysite" / "settings.py"
        text = settings.read_text()
        assert "DEBUG = True" in text and "ALLOWED_HOSTS = []" in text, "startproject's defaults changed"
        if not self.cell.debug:
            text = text.replace("DEBUG = True", "DEBUG = False")
            text = text.replace("ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["127.0.0.1", "localhost"]')
        if self.database_url:
            parts = urllib.parse.urlsplit(self.database_url)
            text += (
                "\nDATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
                f"'NAME': {parts.path.lstrip('/')!r}, 'USER': {parts.username!r}, "
                f"'HOST': {parts.hostname!r}, 'PORT': {parts.port or 5432}}}}}\n"
            )
        settings.write_text(text)

    # -- commands -----------------------------------------------------------------------------------
    def run(
        self,
        argv: list[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv,
            cwd=cwd or self.root,
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run([self.venv.bin("python"), "manage.py", *args], env=env)

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code).stdout

    def python(self, code: str) -> str:
        """A plain Python script in the project's venv (no Django unless it boots it)."""
        return self.run([self.venv.bin("python"), "-c", code]).stdout

    def start(self, env: dict[str, str], command: list[str], name: str) -> Process:
        if command[0] == "python":
            command = [self.venv.bin("python"), *command[1:]]
        elif not command[0].startswith("/"):
            command = [self.venv.bin(command[0]), *command[1:]]
        process = Process(command, self.root, self.env(**env), self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    # -- the database, read directly ----------------------------------------------------------------
    def rows(self, where: str = "1=1", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """``JobResult`` rows as dicts, JSON columns decoded."""
        sql = f"SELECT * FROM arq_django_jobresult WHERE {where} ORDER BY id"
        if self.cell.database == "sqlite":
            with sqlite3.connect(self.root / "db.sqlite3") as db:
                db.row_factory = sqlite3.Row
                found = [dict(row) for row in db.execute(sql, params)]
            for row in found:  # JSONField is text on SQLite (psycopg decodes jsonb itself)
                for column in ("args", "kwargs", "result"):
                    if row[column] is not None:
                        row[column] = json.loads(row[column])
            return found
        import psycopg
        from psycopg.rows import dict_row

        assert self.database_url
        with psycopg.connect(self.database_url, row_factory=dict_row) as db:
            return list(db.execute(sql.replace("?", "%s"), params))

    def row(self, job_id: str) -> dict[str, Any] | None:
        found = self.rows("job_id = ?", (job_id,))
        return found[0] if found else None

    def wait_row(self, job_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            row = self.row(job_id)
            return row if row and row["status"] in statuses else None

        return wait_for(
            done, timeout, f"row {job_id} reaching {statuses}: {self.row(job_id)} {self.processes}"
        )


def python_for(version: str) -> str:
    """An interpreter for the user's venv: ``E2E_PYTHON`` or this one."""
    return version or sys.executable


def iter_cells(text: str) -> Iterator[Cell]:
    for word in text.split():
        yield Cell.parse(word)
