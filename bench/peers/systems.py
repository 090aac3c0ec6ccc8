"""The systems ``make bench-peers`` runs: where each one's producer lives, how its worker starts (its own
CLI, one process, concurrency 10) and in which venv.

Venvs: ``project`` is the repository's own (arq_django, raw arq: arq pins redis-py below 6), ``peers``
holds huey, dramatiq, saq, streaQ and taskiq (``bench/peers/requirements-peers.txt``), ``celery`` holds
Celery alone (it needs redis-py 6 or later; ``requirements-celery.txt``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.peers.job import CONCURRENCY, QUEUE

C = str(CONCURRENCY)


@dataclass(frozen=True)
class System:
    """One system under test."""

    key: str
    label: str
    venv: str
    """``project``, ``peers`` or ``celery``."""
    module: str
    """The adapter: its ``Producer`` enqueues with the system's own client."""
    worker: tuple[str, ...]
    """The worker's command line; the first word is a program in the venv's ``bin/``."""
    mode: str
    """How the worker runs its 10 jobs at once (shown in the table)."""
    package: str
    """The distribution whose version the table shows."""
    peer: bool = True
    """``False`` for arq_django's own variants."""
    env: Mapping[str, str] = field(default_factory=dict)
    database: str = ""
    """arq_django's variants: ``sqlite`` or ``postgres``."""
    warm_gap: float = 0.05
    """The longest random pause before each warm sample: a polling worker's poll interval, so that its
    samples land anywhere in its cycle rather than right after a poll."""


DJANGO_WORKER = ("python", "-m", "django", "arq_worker", "--max-jobs", C)

PEERS = (
    System(
        "huey",
        "huey",
        "peers",
        "bench.peers.huey_peer",
        ("huey_consumer", "bench.peers.huey_peer.huey", "-w", C, "-k", "thread"),
        "10 threads",
        "huey",
    ),
    System(
        "dramatiq",
        "dramatiq",
        "peers",
        "bench.peers.dramatiq_peer",
        ("dramatiq", "bench.peers.dramatiq_peer", "--processes", "1", "--threads", C),
        "10 threads",
        "dramatiq",
    ),
    System(
        "saq",
        "saq",
        "peers",
        "bench.peers.saq_peer",
        ("saq", "bench.peers.saq_peer.settings", "--workers", "1"),
        "asyncio, concurrency 10",
        "saq",
    ),
    System(
        "streaq",
        "streaQ",
        "peers",
        "bench.peers.streaq_peer",
        ("streaq", "run", "bench.peers.streaq_peer:worker", "--workers", "1"),
        "anyio/asyncio, concurrency 10",
        "streaq",
    ),
    System(
        "taskiq",
        "taskiq (taskiq-redis streams)",
        "peers",
        "bench.peers.taskiq_peer",
        ("taskiq", "worker", "bench.peers.taskiq_peer:broker", "--workers", "1", "--max-async-tasks", C),
        "asyncio, 10 tasks",
        "taskiq",
    ),
    System(
        "celery",
        "Celery",
        "celery",
        "bench.peers.celery_peer",
        ("celery", "-A", "bench.peers.celery_peer", "worker", "-P", "threads", "-c", C, "-Q", QUEUE),
        "threads pool, 10",
        "celery",
    ),
    System(
        "arq",
        "raw arq (defaults)",
        "project",
        "bench.peers.arq_peer",
        ("arq", "bench.peers.arq_peer.WorkerSettings"),
        "asyncio, max_jobs 10, poll 0.5 s",
        "arq",
        warm_gap=0.5,
    ),
)

ARQ_DJANGO_SQLITE = "arq_django-sqlite"
ARQ_DJANGO_POSTGRES = "arq_django-postgres"
ARQ_DJANGO_MIRROR_OFF = "arq_django-mirror-off"
DEFAULTS = (ARQ_DJANGO_SQLITE, ARQ_DJANGO_POSTGRES)
"""arq_django's variants at its defaults: the targets are checked on each."""

OURS = (
    System(
        ARQ_DJANGO_SQLITE,
        "arq_django, defaults, SQLite",
        "project",
        "bench.peers.arq_django_peer",
        DJANGO_WORKER,
        "asyncio, MAX_JOBS 10",
        "arq-django",
        peer=False,
        database="sqlite",
    ),
    System(
        ARQ_DJANGO_POSTGRES,
        "arq_django, defaults, PostgreSQL",
        "project",
        "bench.peers.arq_django_peer",
        DJANGO_WORKER,
        "asyncio, MAX_JOBS 10",
        "arq-django",
        peer=False,
        database="postgres",
    ),
    System(
        ARQ_DJANGO_MIRROR_OFF,
        "arq_django, mirror off (not default)",
        "project",
        "bench.peers.arq_django_peer",
        DJANGO_WORKER,
        "asyncio, MAX_JOBS 10",
        "arq-django",
        peer=False,
        env={"BENCH_MIRROR": "off"},
        database="sqlite",
    ),
)
ALL = (*PEERS, *OURS)
