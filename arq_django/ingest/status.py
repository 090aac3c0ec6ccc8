"""Read-only figures about list sources, for ``arq_status``, health checks and dashboards."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import cast

import redis

from arq_django.conf import get_config
from arq_django.connection import sync_client
from arq_django.ingest.supervise import IngestDown, read_down
from arq_django.keys import SourceKeys


@dataclass(frozen=True)
class SourceStats:
    """One source list at one moment."""

    source: str
    pending: int
    """Messages waiting in the list."""
    in_flight: int
    """Claimed by an ingester and not yet committed (or, ``--run-inline``, whose job is running)."""
    dead: int
    """Messages in ``<source>:dead``; any at all deserves a look (``manage.py arq_dead_letters``)."""
    ingesters: int
    """Ingesters registered on the source (a stopped one is removed once its lease expires)."""
    down: tuple[IngestDown, ...] = ()
    """Workers whose ingester of this source crashed and waits to restart."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def list_sources() -> tuple[str, ...]:
    """The sources the worker ingests (``ARQ_DJANGO["LIST_SOURCES"]``)."""
    return get_config().list_sources


def source_stats(source: str, client: redis.Redis | None = None) -> SourceStats:
    """Counts for one source in three round trips."""
    client = client or sync_client()
    keys = SourceKeys(source)
    consumers = sorted(m.decode() for m in cast(set[bytes], client.smembers(keys.consumers)))
    with client.pipeline(transaction=False) as pipe:
        pipe.llen(keys.source)
        pipe.llen(keys.dead)
        for consumer in consumers:
            pipe.llen(keys.processing(consumer))
        pending, dead, *processing = pipe.execute()
    return SourceStats(
        source, pending, sum(processing), dead, len(consumers), tuple(read_down(client, source))
    )
