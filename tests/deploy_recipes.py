"""Read the recipes in ``deploy/`` and check every command they run against the real code.

Docker, Kubernetes, systemd and supervisor do not run on the test machines, so the tests parse each
file, pull out every command it would run, and check that the program, module, management command
and each option exist (and then run the same commands as processes where they can).
"""

from __future__ import annotations

import configparser
import contextlib
import importlib
import importlib.util
import io
import json
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

PENDING_COMMANDS: dict[str, str] = {}
"""Management commands the recipes name before they exist; only their absence is excused."""

PENDING_URLS: dict[str, str] = {}
"""URL paths the probes use before they resolve; only their absence is excused."""

EXTERNAL_PROGRAMS = frozenset(
    {"venv", "pip", "groupadd", "useradd", "kill", "cp", "redis-server", "redis-cli", "pg_isready"}
)
"""Programs of the images and hosts, not of this project: named, so that a typo still fails."""

STOP_MARGIN = 5.0
"""Seconds a stop timeout must leave beyond ARQ_JOB_COMPLETION_WAIT (shutdown hooks, re-queue writes)."""


class Pending(Exception):
    """The command or URL is on a pending list and does not exist yet."""


@dataclass(frozen=True)
class Command:
    """One command line found in a recipe."""

    source: str
    """Where it was found: the file and the place in it."""
    argv: tuple[str, ...]

    @property
    def invocation(self) -> Invocation:
        return invocation(self.argv)


@dataclass(frozen=True)
class Invocation:
    """A command reduced to what it runs: ``arq``, ``gunicorn``, ``manage.py``, a script or a program."""

    program: str
    args: tuple[str, ...]

    def process_argv(self) -> list[str]:
        """The same command for this machine's interpreter, run from the repository root."""
        if self.program in ("arq", "gunicorn"):
            return [sys.executable, "-m", self.program, *self.args]
        if self.program == "manage.py" or self.program.endswith(".py"):
            return [sys.executable, self.program, *self.args]
        raise ValueError(f"{self.program} is not one of this project's commands")


def invocation(argv: tuple[str, ...] | list[str]) -> Invocation:
    """Drop leading ``NAME=value`` assignments and interpreter paths: ``/opt/venv/bin/python -m arq X``
    and ``arq X`` are the same invocation."""
    words = list(argv)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words.pop(0)
    if not words:
        raise ValueError(f"empty command {argv!r}")
    program = Path(words[0]).name
    rest = words[1:]
    if re.fullmatch(r"python(3(\.\d+)?)?", program) and rest:
        if rest[0] == "-m" and len(rest) > 1:
            return Invocation(rest[1], tuple(rest[2:]))
        if rest[0].endswith(".py"):
            script = "manage.py" if Path(rest[0]).name == "manage.py" else rest[0]
            return Invocation(script, tuple(rest[1:]))
    return Invocation(program, tuple(rest))


# --- reading the recipes -------------------------------------------------------------------------


def load_yaml(path: Path) -> list[Any]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


COMPOSE_FILES = ("docker-compose.yml", "docker-compose.sentinel.yml")
"""The compose recipes: one box, and the same with a Sentinel-managed Redis."""


def compose(name: str = "docker-compose.yml") -> dict[str, Any]:
    (doc,) = load_yaml(DEPLOY / name)
    return dict(doc)


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` with ``values`` as the shell."""

    def one(match: re.Match[str]) -> str:
        name, op, word = match.group(1), match.group(2), match.group(3)
        if values.get(name):
            return values[name]
        if op == ":-":
            return word
        raise KeyError(f"{name} is required: {word}" if op == ":?" else name)

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, text)


def k8s_documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object in deploy/k8s (kustomization.yaml is kustomize's, not an object)."""
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_yaml(path):
            yield path, doc


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    for _, doc in k8s_documents():
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    return None


def unit(path: Path) -> configparser.ConfigParser:
    """A systemd unit (one value per key; the recipes keep it that way) or a supervisor file."""
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(path)
    return parser


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


def dockerfile(path: Path | None = None) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (path or DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    out = []
    for line in lines:
        keyword, _, value = line.partition(" ")
        out.append(Instruction(keyword.upper(), value.strip()))
    return out


def shell_commands(text: str) -> list[tuple[str, ...]]:
    """The commands of a simple shell line (``a && b``; ``exec b`` is ``b``)."""
    commands = [tuple(shlex.split(part)) for part in re.split(r"&&|;", text) if part.strip()]
    return [argv[1:] if argv[0] == "exec" else argv for argv in commands]


def unwrap_shell(argv: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``sh -c "a; exec b"`` is the commands ``a`` and ``b``; any other command is itself."""
    if len(argv) == 3 and argv[:2] == ("sh", "-c"):
        return shell_commands(argv[2])
    return [argv]


def _docker_form(value: str) -> list[tuple[str, ...]]:
    if value.startswith("["):
        return [tuple(json.loads(value))]
    return shell_commands(value)


def dockerfile_commands() -> list[Command]:
    commands = []
    for i, ins in enumerate(dockerfile()):
        where = f"deploy/Dockerfile #{i + 1} {ins.keyword}"
        if ins.keyword in ("RUN", "CMD", "ENTRYPOINT"):
            commands += [Command(where, argv) for argv in _docker_form(ins.value)]
        elif ins.keyword == "HEALTHCHECK" and ins.value != "NONE":
            _, _, cmd = ins.value.partition("CMD ")
            commands += [Command(where, argv) for argv in _docker_form(cmd.strip())]
    return commands


def _compose_healthcheck(test: Any) -> list[tuple[str, ...]]:
    if isinstance(test, str):
        return shell_commands(test)
    kind, *rest = test
    if kind == "CMD":
        return [tuple(rest)]
    if kind == "CMD-SHELL":
        return shell_commands(rest[0])
    return []  # NONE


def compose_commands() -> list[Command]:
    commands = []
    for path in COMPOSE_FILES:
        for name, service in compose(path)["services"].items():
            where = f"deploy/{path} services.{name}"
            for key in ("entrypoint", "command"):
                value = service.get(key)
                if value:
                    argv = tuple(value) if isinstance(value, list) else tuple(shlex.split(value))
                    commands += [Command(f"{where}.{key}", a) for a in unwrap_shell(argv)]
            check = service.get("healthcheck", {})
            if "test" in check and not check.get("disable"):
                commands += [Command(f"{where}.healthcheck", a) for a in _compose_healthcheck(check["test"])]
    return commands


def k8s_commands() -> list[Command]:
    commands = []
    for path, doc in k8s_documents():
        spec = pod_spec(doc)
        if spec is None:
            continue
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            where = f"deploy/k8s/{path.name} {doc['metadata']['name']}/{container['name']}"
            argv = (*container.get("command", []), *container.get("args", []))
            if argv:
                commands.append(Command(where, tuple(argv)))
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if "exec" in container.get(probe, {}):
                    commands.append(Command(f"{where} {probe}", tuple(container[probe]["exec"]["command"])))
    return commands


SYSTEMD_EXEC = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")


def systemd_commands() -> list[Command]:
    commands = []
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        service = unit(path)["Service"]
        for key in SYSTEMD_EXEC:
            if key in service:
                # Specifiers (%i is the instance) and the prefixes systemd allows before the path.
                line = service[key].replace("%i", "1").replace("%%", "%").lstrip("-@:+!")
                commands.append(Command(f"deploy/systemd/{path.name} {key}", tuple(shlex.split(line))))
    return commands


def supervisor_commands() -> list[Command]:
    commands = []
    for path in sorted((DEPLOY / "supervisor").glob("*.conf")):
        parser = unit(path)
        for section in parser.sections():
            if section.startswith("program:"):
                argv = tuple(shlex.split(parser[section]["command"]))
                commands.append(Command(f"deploy/supervisor/{path.name} [{section}]", argv))
    return commands


def all_commands() -> list[Command]:
    return [
        *dockerfile_commands(),
        *compose_commands(),
        *k8s_commands(),
        *systemd_commands(),
        *supervisor_commands(),
    ]


def env_assignments(text: str) -> dict[str, str]:
    """``A=1 B="x"`` (systemd ``Environment=``) or ``A="1",B="x"`` (supervisor ``environment=``)."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace += ","
    lexer.whitespace_split = True
    return dict(word.split("=", 1) for word in lexer)


def seconds(text: str | int | float) -> float:
    """``30``, ``30s``, ``1m30s``, ``2min`` (compose and systemd durations) in seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h)?", text.strip())
    if not parts or "".join(n + (u or "") for n, u in parts) != text.replace(" ", ""):
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u or "s"] for n, u in parts)


# --- checking a command against the code ---------------------------------------------------------


def exact_options(words: tuple[str, ...], known: set[str]) -> list[str]:
    """Options that are not spelled out in full: argparse would accept a prefix, a reader would not."""
    unknown = []
    for word in words:
        if word == "--":
            break
        if word.startswith("-") and word != "-" and not re.fullmatch(r"-\d.*", word):
            name = word.split("=", 1)[0]
            if name not in known:
                unknown.append(name)
    return unknown


def check(command: Command) -> None:
    """Raise ``AssertionError`` naming what is wrong, or ``Pending`` for a name not built yet."""
    inv = command.invocation
    checker = CHECKERS.get(inv.program)
    if checker is not None:
        checker(inv)
    elif inv.program.endswith(".py"):
        check_script(command.source, inv)
    else:
        assert inv.program in EXTERNAL_PROGRAMS, (
            f"{command.source}: unknown program {inv.program!r} (not ours, not in EXTERNAL_PROGRAMS)"
        )


def import_object(path: str, sep: str = ".") -> Any:
    module_name, _, attr = path.rpartition(sep)
    assert module_name and attr, f"{path!r} is not a dotted path"
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise AssertionError(f"{path}: {e}") from e


def check_arq(inv: Invocation) -> None:
    import click
    from arq.cli import cli

    try:
        ctx = cli.make_context("arq", list(inv.args), resilient_parsing=False)
    except click.ClickException as e:
        raise AssertionError(f"arq {' '.join(inv.args)}: {e.format_message()}") from e
    known = {opt for p in cli.params for opt in (*p.opts, *p.secondary_opts)}
    assert not exact_options(inv.args, known), f"arq: unknown options {exact_options(inv.args, known)}"
    settings = import_object(ctx.params["worker_settings"])
    assert isinstance(settings, type), f"{ctx.params['worker_settings']} is not a class"
    # arq reads the class's own __dict__ only.
    assert vars(settings).get("functions"), f"{ctx.params['worker_settings']} has no functions"


def check_manage_py(inv: Invocation) -> None:
    from django.core.management import get_commands, load_command_class
    from django.core.management.base import CommandError

    assert inv.args, "manage.py without a command"
    name, *rest = inv.args
    commands = get_commands()
    if name not in commands:
        if name in PENDING_COMMANDS:
            raise Pending(PENDING_COMMANDS[name])
        raise AssertionError(f"manage.py {name}: no such management command")
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(rest)
    except CommandError as e:
        raise AssertionError(f"manage.py {name} {' '.join(rest)}: {e}") from e
    unknown = exact_options(tuple(rest), set(parser._option_string_actions))
    assert not unknown, f"manage.py {name}: unknown options {unknown}"


def check_gunicorn(inv: Invocation) -> None:
    from gunicorn.config import Config

    parser = Config().parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = parser.parse_args(list(inv.args))
    except SystemExit as e:
        raise AssertionError(f"gunicorn {' '.join(inv.args)}: {stderr.getvalue().strip()}") from e
    unknown = exact_options(inv.args, set(parser._option_string_actions))
    assert not unknown, f"gunicorn: unknown options {unknown}"
    assert len(args.args) == 1, f"gunicorn needs one APP_MODULE, got {args.args}"
    app = import_object(args.args[0], sep=":")
    assert callable(app), f"{args.args[0]} is not a WSGI application"


def load_script(path: str) -> Any:
    """A script of the repository (``deploy/http_probe.py``) as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_script(source: str, inv: Invocation) -> None:
    """The script exists and its ``build_parser()`` accepts the arguments."""
    assert (ROOT / inv.program).is_file(), f"{source}: no script {inv.program} in the repository"
    parser = load_script(inv.program).build_parser()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(list(inv.args))
    except SystemExit as e:
        raise AssertionError(f"{source}: {inv.program}: {stderr.getvalue().strip()}") from e
    unknown = exact_options(inv.args, set(parser._option_string_actions))
    assert not unknown, f"{source}: {inv.program}: unknown options {unknown}"


CHECKERS = {"arq": check_arq, "manage.py": check_manage_py, "gunicorn": check_gunicorn}
