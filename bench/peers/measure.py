"""The measurements of ``make bench-peers`` (``bench.peers.run`` drives them): the processes of each
system (producers, its worker), its Redis database and, for arq_django, its SQL database."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

import redis

from arq_django.keys import WORKER_PREFIX
from bench.peers import systems
from bench.peers.job import COUNT_KEY, STARTS_KEY
from bench.peers.producer import COLD_BASE, wait_start
from bench.peers.systems import System
from bench.peers.targets import Extras, Result

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".run"
LOGS = RUN / "bench-peers-logs"
MARKER = "bench:peers:owned"
"""Set after every FLUSHDB: a database holding keys but not this one is someone else's."""
DROPPED_ENV = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "PYTHONPATH", "BENCH_MIRROR")


class BenchError(Exception):
    """A system failed, so its figures would mean nothing."""


def with_db(url: str, db: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


class Bench:
    """The run's shared state: the Redis database, the venvs' interpreters, the logs."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url = with_db(args.redis_url, args.db)
        self.admin = redis.Redis.from_url(self.url)
        self.pythons = {"project": sys.executable, "peers": args.peers_python, "celery": args.celery_python}
        self.sqlite = RUN / "bench-peers.sqlite3"
        LOGS.mkdir(parents=True, exist_ok=True)

    # -- Redis ---------------------------------------------------------------------------------------

    def check_owned(self) -> None:
        if self.admin.dbsize() and not self.admin.exists(MARKER):
            raise BenchError(
                f"Redis database {self.args.db} holds keys the bench did not write; it FLUSHDBs its "
                "database, so pick an empty one with --db."
            )

    def flush(self) -> None:
        self.admin.flushdb()
        self.admin.set(MARKER, "1")

    # -- processes -----------------------------------------------------------------------------------

    def env(self, system: System) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env |= {"BENCH_REDIS_URL": self.url, "PYTHONPATH": str(ROOT), **system.env}
        if system.database:
            env["BENCH_DATABASE_URL"] = self.database_url(system)
            env["DJANGO_SETTINGS_MODULE"] = "bench.peers.project.settings"
        return env

    def database_url(self, system: System) -> str:
        return self.args.pg_url if system.database == "postgres" else f"sqlite:///{self.sqlite}"

    def program(self, system: System, name: str) -> str:
        python = Path(self.pythons[system.venv])
        return str(python) if name == "python" else str(python.parent / name)

    def produce(self, system: System, role: str, *extra: str, client: str = "Producer") -> dict[str, Any]:
        argv = [self.program(system, "python"), "-m", "bench.peers.producer", system.module, role]
        argv += ["--client", client, *extra]
        done = subprocess.run(
            argv, cwd=ROOT, env=self.env(system), capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise BenchError(f"{system.key} producer {role} exited {done.returncode}: {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return report

    def start_worker(self, system: System, *extra: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        argv = [self.program(system, system.worker[0]), *system.worker[1:], *extra]
        log = (LOGS / f"{system.key}{''.join(extra).replace('-', '')}.log").open("wb")
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env(system), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return process, log

    @staticmethod
    def stop_worker(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        """SIGTERM the worker's process group (as a terminal's Ctrl+C would), then kill what is left of it:
        a worker process outliving its parent would take CPU from the next system."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()

    def prepare_database(self, system: System) -> None:
        """A new, migrated database for each arq_django run: no rows from the last one."""
        if system.database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.sqlite}{suffix}").unlink(missing_ok=True)
        else:
            import psycopg

            parts = urllib.parse.urlsplit(self.args.pg_url)
            name = parts.path.lstrip("/")
            server = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(server, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                db.execute(f'CREATE DATABASE "{name}"')
        argv = [self.program(system, "python"), "-m", "django", "migrate", "--noinput", "-v", "0"]
        done = subprocess.run(
            argv, cwd=ROOT, env=self.env(system), capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise BenchError(f"{system.key}: migrate exited {done.returncode}: {done.stderr[-2000:]}")

    # -- measurements --------------------------------------------------------------------------------

    def wait_drained(
        self, jobs: int, worker: subprocess.Popen[bytes], key: str, since: float = 0.0
    ) -> tuple[float, int]:
        """Poll until all ``jobs`` have started; the rate of those started from ``since`` (epoch s) on,
        from the first of them to the last, and the runs beyond one per job so far (a redelivery: the
        rate counts first starts, the table shows the repeats)."""
        deadline = time.monotonic() + 60 + jobs / 20
        while cast(int, self.admin.hlen(STARTS_KEY)) < jobs:
            if worker.poll() is not None:
                raise BenchError(f"{key} worker exited with {worker.returncode} (see {LOGS})")
            if time.monotonic() > deadline:
                raise BenchError(f"{key}: {self.admin.hlen(STARTS_KEY)} of {jobs} jobs started in time")
            time.sleep(0.01)
        ran = int(self.admin.get(COUNT_KEY) or 0)  # type: ignore[arg-type]
        starts = [t for v in cast(list[bytes], self.admin.hvals(STARTS_KEY)) if (t := float(v)) >= since]
        if len(starts) < max(jobs // 4, 2):
            raise BenchError(f"{key}: only {len(starts)} of {jobs} jobs started once every worker was up")
        return (len(starts) - 1) / (max(starts) - min(starts)), ran - jobs

    def wait_workers(self, count: int, worker: subprocess.Popen[bytes], key: str) -> float:
        """When ``count`` arq_django worker processes have written their first heartbeat (epoch s)."""
        deadline = time.monotonic() + 120
        while len(list(self.admin.scan_iter(f"{WORKER_PREFIX}*", count=10_000))) < count:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{key}: {count} worker processes did not start (see {LOGS})")
            time.sleep(0.005)
        return time.time()

    def drain(self, system: System, processes: int) -> float:
        """Pre-queue N jobs with arq_django's client (no figure), drain them with ``arq_worker
        --processes``: jobs/s once every worker process is up (the second one may boot later than the
        first, which starts on the queue alone meanwhile)."""
        self.flush()
        self.prepare_database(system)
        self.produce(system, "enqueue", f"--jobs={self.args.jobs}")
        worker, log = self.start_worker(system, "--processes", str(processes))
        try:
            ready = self.wait_workers(processes, worker, system.key)
            rate, repeated = self.wait_drained(self.args.jobs, worker, system.key, since=ready)
            if repeated:
                raise BenchError(f"{system.key} --processes {processes}: {repeated} jobs ran twice")
            return rate
        finally:
            self.stop_worker(worker, log)

    def measure(self, system: System) -> Result:
        jobs, base = self.args.jobs, Result(system.label, system.mode, system.peer)
        aenqueue = None
        if not system.peer:
            self.flush()
            self.prepare_database(system)
            done = self.produce(system, "enqueue", f"--jobs={jobs}", client="AsyncProducer")
            aenqueue = done["jobs"] / done["seconds"]
        self.flush()
        if system.database:
            self.prepare_database(system)
        done = self.produce(system, "enqueue", f"--jobs={jobs}")
        if self.admin.hlen(STARTS_KEY):
            raise BenchError(f"{system.key}: jobs started before the worker did")
        worker, log = self.start_worker(system)
        try:
            drain, repeated = self.wait_drained(jobs, worker, system.key)
            gap = f"--gap={system.warm_gap}"
            warm = self.produce(system, "warm", f"--samples={self.args.warm}", gap)["latencies_ms"]
            cold = []
            for k in range(self.args.cold):
                t0 = self.produce(system, "cold", f"--index={k}")["t0"]
                cold.append((wait_start(self.admin, COLD_BASE + k) - t0) * 1000)
        finally:
            self.stop_worker(worker, log)
        return dataclasses.replace(
            base,
            enqueue_per_s=done["jobs"] / done["seconds"],
            aenqueue_per_s=aenqueue,
            drain_per_s=drain,
            repeated_runs=repeated,
            warm_ms=tuple(warm),
            cold_ms=tuple(cold),
        )

    def processes_rounds(self, system: System) -> tuple[list[float], list[dict[str, float]]]:
        """``--processes 2`` over ``--processes 1`` drains, paired, their order swapping every round."""
        found, rates = [], []
        for round_ in range(self.args.rounds):
            order = ("1", "2") if round_ % 2 == 0 else ("2", "1")
            rate = {n: self.drain(system, int(n)) for n in order}
            rates.append(rate)
            found.append(rate["2"] / rate["1"])
        return found, rates

    def mirror_rounds(self) -> list[float]:
        argv = [sys.executable, "-m", "bench.peers.mirror", f"--redis-url={self.url}"]
        argv += [f"--jobs={self.args.jobs}", f"--rounds={self.args.rounds}"]
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV} | {"PYTHONPATH": str(ROOT)}
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
        self.flush()
        if done.returncode != 0:
            raise BenchError(f"mirror rounds exited {done.returncode}: {done.stderr[-2000:]}")
        found: list[float] = json.loads(done.stdout.strip().splitlines()[-1])["ratios"]
        return found

    def extras(self, chosen: Sequence[System]) -> Extras:
        """The paired rounds: ``--processes 2`` / ``1``, and the mirror on / off."""
        notes: list[str] = []
        processes: list[float] = []
        mirror: list[float] = []
        # Two processes writing one SQLite file queue behind its single writer: a project that runs
        # several worker processes is measured on PostgreSQL, unless it is skipped.
        project = next((s for s in chosen if s.key == systems.ARQ_DJANGO_POSTGRES), None) or next(
            (s for s in chosen if s.key == systems.ARQ_DJANGO_SQLITE), None
        )
        if project is not None:
            try:
                processes, rates = self.processes_rounds(project)
                shown = ", ".join(f"{r['2']:,.0f} / {r['1']:,.0f}" for r in rates)
                notes.append(f"--processes 2 / 1 drains ({project.label}): {shown}")
            except (BenchError, subprocess.SubprocessError, redis.RedisError, OSError) as e:
                notes.append(f"--processes rounds failed: {e}")
        if any(not s.peer for s in chosen):
            try:
                mirror = self.mirror_rounds()
            except (BenchError, subprocess.SubprocessError, OSError) as e:
                notes.append(f"mirror rounds failed: {e}")
        return Extras(tuple(processes), tuple(mirror), tuple(notes))

    def versions(self, chosen: Sequence[System]) -> dict[str, str]:
        found: dict[str, str] = {}
        for venv in sorted({s.venv for s in chosen}):
            packages = sorted({s.package for s in chosen if s.venv == venv})
            code = (
                "import importlib.metadata as m, json, sys; "
                "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
            )
            python = self.pythons[venv]
            if not Path(python).exists() and venv != "project":
                raise BenchError(f"no venv at {python}: run `make bench-peers`, which builds it")
            done = subprocess.run([python, "-c", code, *packages], capture_output=True, text=True, check=True)
            found |= json.loads(done.stdout)
        return found
