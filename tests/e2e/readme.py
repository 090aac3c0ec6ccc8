"""The README's quick start, read as the e2e suite runs it.

Each code block the suite runs is preceded by a marker comment in README.md:

- ``<!-- e2e: install -->``: the install commands (the suite installs the wheel it built the same way);
- ``<!-- e2e: run -->``: shell commands run one by one (``cd`` changes the directory);
- ``<!-- e2e: write PATH -->`` / ``<!-- e2e: append PATH -->``: a file of the new project;
- ``<!-- e2e: serve -->``: long-running commands (workers, web servers), one per line;
- ``<!-- e2e: shell -->``: a ``manage.py shell`` session: ``>>>`` lines, each followed by its output;
- ``<!-- e2e: example PATH -->``: a file (or the lines to append to one) outside the quick start, which
  one test adds to its project (``example(PATH)``), e.g. the worker-extension example.

So a change to the quick start changes what the suite does, and a block the suite needs but cannot
find fails it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

_BLOCK = re.compile(
    r"<!-- e2e: (?P<kind>install|run|write|append|serve|shell|example)(?: (?P<path>\S+))? -->\n"
    r"```\w*\n(?P<body>.*?)```",
    re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    kind: str
    path: str | None
    body: str

    def commands(self) -> list[list[str]]:
        """Shell lines as argv lists, comments and blank lines dropped (``# ...`` ends a line)."""
        lines = []
        for line in self.body.splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                lines.append(argv)
        return lines


@dataclass(frozen=True)
class ShellStep:
    source: str
    expected: str
    """What the session prints for ``source``; empty for a statement."""


def blocks(text: str | None = None) -> list[Block]:
    """Every marked block of the README, in order."""
    text = README.read_text() if text is None else text
    return [Block(m["kind"], m["path"], m["body"]) for m in _BLOCK.finditer(text)]


def example(path: str) -> str:
    """The body of the README's ``example PATH`` block."""
    found = [block.body for block in blocks() if block.kind == "example" and block.path == path]
    assert len(found) == 1, f"the README has {len(found)} example blocks for {path}"
    return found[0]


def shell_steps(block: Block) -> list[ShellStep]:
    """A ``>>>`` transcript as (statement, expected output) pairs."""
    steps: list[ShellStep] = []
    source: str | None = None
    output: list[str] = []
    for line in block.body.splitlines():
        if line.startswith(">>> "):
            if source is not None:
                steps.append(ShellStep(source, "\n".join(output)))
            source, output = line[4:], []
        elif source is not None:
            output.append(line)
    if source is not None:
        steps.append(ShellStep(source, "\n".join(output)))
    return steps


def split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading ``NAME=value`` words as an environment, and the command after them."""
    env: dict[str, str] = {}
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    return env, argv


def serve_command(block: Block, program: str) -> tuple[dict[str, str], list[str]]:
    """The ``serve`` line whose command starts with ``program``: its environment and argv."""
    for argv in block.commands():
        env, command = split_env(argv)
        if " ".join(command).startswith(program):
            return env, command
    raise AssertionError(f"the README's serve block has no line running {program!r}: {block.body}")
