"""One benchmark worker in its own process: ``python -m bench.worker KIND MODE --redis-url URL ...``.

KIND is ``arq_django`` / ``arq_django_mirror`` (our worker, built by ``worker_settings``, Django set up,
``ARQ_DJANGO['MIRROR']`` off / on) or ``arq_default`` / ``arq_tuned`` (a plain ``arq.worker.Worker``
with ``poll_delay`` 0.5 s / 0.01 s, no Django imported). MODE ``drain`` runs a burst worker over the
queue; ``serve`` runs until SIGTERM. Either way the process prints one JSON line at the end: seconds
spent in the worker (for a drain, up to the end of its ``close()``), job counts and its peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker, func

from bench.handlers import bench_noop, bench_stamp

KINDS = ("arq_django", "arq_django_mirror", "arq_default", "arq_tuned")
RAW_POLL_DELAY = {"arq_default": 0.5, "arq_tuned": 0.01}
"""The raw arq kinds' ``poll_delay`` (arq's default, and tuned); ours uses ``ARQ_DJANGO['POLL_DELAY']``."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("mode", choices=("drain", "serve"))
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--max-jobs", type=int, required=True)
    parser.add_argument("--keep-result", type=float, required=True)
    parser.add_argument("--job-timeout", type=float, required=True)
    parser.add_argument("--max-tries", type=int, required=True)
    return parser.parse_args(argv)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def build(args: argparse.Namespace) -> Worker:
    burst = args.mode == "drain"
    handle_signals = args.mode == "serve"
    if args.kind in ("arq_django", "arq_django_mirror"):
        from bench.run import setup_django

        setup_django(args.redis_url, mirror=args.kind == "arq_django_mirror")
        from arq_django.worker import settings as worker_settings
        from bench import jobs  # noqa: F401 - registers the bench jobs

        return worker_settings.create_worker(args.queue, burst=burst, handle_signals=handle_signals)
    # The bench's payloads are plain JSON (ints), so json itself decodes what arq_django's serializer wrote.
    return Worker(
        functions=[func(bench_noop, name="bench_noop"), func(bench_stamp, name="bench_stamp")],
        queue_name=args.queue,
        redis_settings=RedisSettings.from_dsn(args.redis_url),
        burst=burst,
        handle_signals=handle_signals,
        job_serializer=_dumps,
        job_deserializer=json.loads,
        max_jobs=args.max_jobs,
        poll_delay=RAW_POLL_DELAY[args.kind],
        keep_result=args.keep_result,
        job_timeout=args.job_timeout,
        max_tries=args.max_tries,
    )


async def _drain(args: argparse.Namespace) -> tuple[float, Worker]:
    worker = build(args)  # inside the loop: arq's Worker binds the running loop when created
    start = time.perf_counter()
    try:
        await worker.async_run()
    finally:
        await worker.close()  # timed: the result mirror writes its last rows here
    return time.perf_counter() - start, worker


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB.

    Linux's ``VmHWM`` belongs to this program's own memory; ``ru_maxrss`` would also count the bench
    process this one was forked from, since it survives ``exec``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss  # macOS reports bytes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.mode == "drain":
        seconds, worker = asyncio.run(_drain(args))
    else:
        worker = build(args)
        start = time.perf_counter()
        # Until SIGTERM. arq's close() re-raises the cancellation of a job it stopped mid-finish.
        with contextlib.suppress(asyncio.CancelledError):
            worker.run()
        seconds = time.perf_counter() - start
    report = {
        "seconds": seconds,
        "complete": worker.jobs_complete,
        "failed": worker.jobs_failed,
        "retried": worker.jobs_retried,
        "maxrss_kb": peak_rss_kb(),
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
