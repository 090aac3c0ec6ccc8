"""``deploy/docker-compose.sentinel.yml``: one primary, one replica, three sentinels, web and workers on a
``redis+sentinel://`` URL. Docker is not on the test machines, so the file is parsed and checked against
``docker-compose.yml`` and our URL grammar (its commands are checked with every recipe's in
``tests/test_deploy.py``), then its Redis, Sentinel and worker commands run here as processes on spare
ports, through a failover."""

from __future__ import annotations

import re
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arq_django import EnqueueError, EnqueueNotConfirmed, JobHandle, enqueue
from arq_django.connection import close_sync_clients
from arq_django.connection.servers import parse_server
from tests.conftest import WorkerProcess, wait_for
from tests.deploy_recipes import DEPLOY, STOP_MARGIN, compose, interpolate, seconds, unwrap_shell
from tests.redis_servers import MASTER, RedisProcess, SentinelSet, spare_port, start_redis
from tests.test_deploy import invocations, prod_env

RECIPE = "docker-compose.sentinel.yml"
SENTINEL_CONF = DEPLOY / "sentinel.conf"
NODES = ("redis-primary", "redis-replica")
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
APP = ("migrate", "web", "worker")
SHELL = {"SECRET_KEY": "s3cret", "POSTGRES_PASSWORD": "pw"}


def services() -> dict[str, Any]:
    return dict(compose(RECIPE)["services"])


def app_env() -> dict[str, str]:
    """The app's environment as compose would pass it, with ``SHELL`` as the operator's shell."""
    return {k: interpolate(str(v), SHELL) for k, v in services()["worker"]["environment"].items()}


def sentinel_conf() -> list[list[str]]:
    return [line.split() for line in SENTINEL_CONF.read_text().splitlines() if line.split()[:1] != ["#"]]


def monitor() -> tuple[str, str, int, int]:
    """``sentinel monitor <name> <host> <port> <quorum>``."""
    (line,) = [w for w in sentinel_conf() if w[:2] == ["sentinel", "monitor"]]
    return line[2], line[3], int(line[4]), int(line[5])


def sentinel_port() -> int:
    (port,) = [int(w[1]) for w in sentinel_conf() if w[0] == "port"]
    return port


def option(argv: list[str], name: str) -> list[str]:
    """The words after ``--name`` up to the next option."""
    start = argv.index(name) + 1
    end = next((i for i in range(start, len(argv)) if argv[i].startswith("--")), len(argv))
    return argv[start:end]


# --- the file ------------------------------------------------------------------------------------


def test_one_primary_one_replica_three_sentinels_with_aof_on_both_nodes() -> None:
    found = services()
    assert {*NODES, *SENTINELS, *APP, "db"} <= set(found)
    base = compose()["services"]["redis"]["command"]
    for name in NODES:
        argv = found[name]["command"]
        assert argv[: len(base)] == base, f"{name}: the one-box Redis options (AOF, noeviction) first"
        # The name the sentinels hand to clients after a failover must resolve on the compose network.
        assert option(argv, "--replica-announce-ip") == [name]
    assert "--replicaof" not in found["redis-primary"]["command"]
    assert option(found["redis-replica"]["command"], "--replicaof") == ["redis-primary", "6379"]


def test_each_sentinel_runs_a_writable_copy_of_sentinel_conf_in_its_own_volume() -> None:
    found = services()
    volumes = compose(RECIPE)["volumes"]
    own = set()
    for name in SENTINELS:
        (copy, run) = unwrap_shell(tuple(found[name]["command"]))
        assert copy[:2] == ("cp", "-n") and run[0] == "redis-server" and run[2:] == ("--sentinel",)
        source, target = copy[2:]
        assert run[1] == target, f"{name}: Sentinel must load the copy it may rewrite"
        mounts = {inside: host for host, inside, *_ in (v.split(":") for v in found[name]["volumes"])}
        assert (DEPLOY / mounts[source]).resolve() == SENTINEL_CONF
        data = mounts[str(Path(target).parent)]
        assert data in volumes
        own.add(data)
        assert found[name]["healthcheck"]["test"] == ["CMD", "redis-cli", "-p", str(sentinel_port()), "ping"]
    assert len(own) == len(SENTINELS), "a sentinel per volume: each rewrites its own copy"


def test_sentinel_conf_monitors_the_primary_with_a_majority_quorum() -> None:
    name, host, port, quorum = monitor()
    assert (host, port) == ("redis-primary", 6379)
    assert quorum == len(SENTINELS) // 2 + 1
    words = [" ".join(w[:2]) for w in sentinel_conf()]
    # Sentinel refuses a host name in `monitor` unless resolve-hostnames comes first.
    assert words.index("sentinel resolve-hostnames") < words.index("sentinel monitor")
    assert ["port", "26379"] in sentinel_conf()
    for setting in ("down-after-milliseconds", "failover-timeout", "parallel-syncs"):
        assert any(w[:3] == ["sentinel", setting, name] for w in sentinel_conf()), setting


def test_the_app_reaches_redis_through_every_sentinel_by_our_url_grammar() -> None:
    env = app_env()
    server = parse_server(env["REDIS_URL"], {}, "REDIS_URL")
    assert server.sentinels == tuple((name, sentinel_port()) for name in SENTINELS)
    assert (server.master, server.db) == (monitor()[0], 0)
    assert int(env["ARQ_ENQUEUE_WAIT_REPLICAS"]) <= len(NODES) - 1, "WAIT for more replicas than exist"


def test_the_app_services_are_the_one_box_ones_but_for_redis() -> None:
    """Web, workers and migrations stay as in docker-compose.yml: only REDIS_URL, the WAIT setting and
    what they wait for differ, so the two recipes cannot drift apart."""
    base, found = compose()["services"], services()
    base_env = dict(base["worker"]["environment"])
    for name in APP:
        env = dict(found[name]["environment"])
        assert env.pop("REDIS_URL").startswith("redis+sentinel://")
        assert env.pop("ARQ_ENQUEUE_WAIT_REPLICAS")
        assert env == {k: v for k, v in base_env.items() if k != "REDIS_URL"}, name
        ours = {k: v for k, v in found[name].items() if k not in ("environment", "depends_on")}
        assert ours == {k: v for k, v in base[name].items() if k not in ("environment", "depends_on")}
    waits = found["worker"]["depends_on"]
    assert waits == found["web"]["depends_on"]
    assert {*SENTINELS, "redis-replica", "db", "migrate"} <= set(waits)
    for target, spec in waits.items():
        if spec["condition"] == "service_healthy":
            assert "healthcheck" in found[target], f"{target} has no healthcheck"
    grace = seconds(found["worker"]["stop_grace_period"])
    assert grace >= float(app_env()["ARQ_JOB_COMPLETION_WAIT"]) + STOP_MARGIN


# --- the commands, run as processes --------------------------------------------------------------


def localize(words: list[str], ports: dict[str, int]) -> list[str]:
    """The recipe's service names as this machine: ``name 6379`` and ``name:26379`` become 127.0.0.1
    and the port the test gave that service, a bare ``name`` becomes 127.0.0.1."""
    text = shlex.join(words)
    for name in (*NODES, *SENTINELS):
        if name in ports:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}([ :])\d+\b", rf"127.0.0.1\g<1>{ports[name]}", text)
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", "127.0.0.1", text)
    return shlex.split(text)


def test_localize() -> None:
    ports = {"redis-primary": 27001, "sentinel-1": 27002}
    assert localize(["--replicaof", "redis-primary", "6379", "--x", "redis-replica"], ports) == [
        "--replicaof", "127.0.0.1", "27001", "--x", "127.0.0.1",
    ]  # fmt: skip
    assert localize(["redis+sentinel://sentinel-1:26379,sentinel-10:26379/m"], ports) == [
        "redis+sentinel://127.0.0.1:27002,sentinel-10:26379/m"
    ]


@pytest.fixture
def recipe_redis(tmp_path: Path) -> Iterator[tuple[SentinelSet, dict[str, int]]]:
    """The recipe's primary, replica and sentinels, each started with its own command on a spare port."""
    found = services()
    ports: dict[str, int] = {}
    started: list[RedisProcess] = []
    try:
        for name in NODES:
            argv = found[name]["command"]
            assert argv[0] == "redis-server"
            node = start_redis(tmp_path / name, *localize(argv[1:], ports))
            started.append(node)
            ports[name] = node.port
        primary, replica = started
        wait_for(lambda: replica.client().info("replication").get("master_link_status") == "up", 20)
        conf = "\n".join(" ".join(localize(words, ports)) for words in sentinel_conf()) + "\n"
        for name in SENTINELS:
            workdir = tmp_path / name
            workdir.mkdir()
            sentinel = RedisProcess(spare_port(), [], workdir).start(conf=conf)
            started.append(sentinel)
            ports[name] = sentinel.port
        cluster = SentinelSet(primary, [replica], started[2:], "", "")
        wait_for(cluster.ready, timeout=30, interval=0.1)
        yield cluster, ports
    finally:
        for process in reversed(started):
            process.stop()


@pytest.mark.integration
def test_the_recipe_runs_jobs_and_its_workers_follow_a_failover(
    recipe_redis: tuple[SentinelSet, dict[str, int]], settings: Any, tmp_path: Path
) -> None:
    cluster, ports = recipe_redis
    assert monitor()[0] == MASTER
    recipe_env = {k: v for k, v in app_env().items() if k != "DATABASE_URL"}  # SQLite here
    (url,) = localize([recipe_env["REDIS_URL"]], ports)
    recipe_env["REDIS_URL"] = url
    settings.ARQ_DJANGO = {
        **settings.ARQ_DJANGO,
        "REDIS_URL": url,
        "ENQUEUE_WAIT_REPLICAS": int(recipe_env["ARQ_ENQUEUE_WAIT_REPLICAS"]),
    }
    (command,) = invocations("arq", with_check=False)
    env = {**prod_env(url, tmp_path), **recipe_env}
    worker = WorkerProcess(command.process_argv(), env, tmp_path / "worker.log")
    try:
        wait_for(lambda: worker.process.poll() is not None or worker.ready(), timeout=60)
        assert worker.process.poll() is None, worker.output()
        before = enqueue("email", to="ops@example.com", subject="sentinel", body="before the failover")
        assert before is not None and before.result(timeout=30)["sent"] == 1
        assert cluster.primary.client().exists(f"arq:result:{before.job_id}")

        cluster.primary.kill()
        replica_port = ports["redis-replica"]
        wait_for(lambda: cluster.master_port() == replica_port, timeout=60, interval=0.1)
        # The new primary has no replica left: the job is written, then WAIT=1 cannot be met.
        with pytest.raises(EnqueueNotConfirmed, match="not confirmed by 1 replica") as refused:
            wait_for(lambda: _enqueue_after_failover(), timeout=30, interval=0.1)
        after = JobHandle(refused.value.job_id)
        assert after.result(timeout=30)["to"] == "after@example.com"
        assert cluster.replicas[0].client().exists(f"arq:result:{after.job_id}")
        worker.signal(signal.SIGTERM)
        assert worker.wait(timeout=float(env["ARQ_JOB_COMPLETION_WAIT"]) + STOP_MARGIN) == 0, worker.output()
    finally:
        worker.stop()
        close_sync_clients()


def _enqueue_after_failover() -> bool:
    """Enqueue once the client reaches the new primary (a connection error while it moves: again)."""
    try:
        enqueue("email", to="after@example.com", subject="sentinel", body="after", _job_id="after-failover")
    except EnqueueNotConfirmed:
        raise
    except EnqueueError:  # nothing written: no master yet, or the client still on the dead one
        return False
    return True
