"""Ingest "JSON in a Redis list" messages as arq_django jobs (the migration path from hand-rolled
``async_command`` consumers): ``message`` → ``ingester`` (or ``inline``) → ``dead_letters``.

Producers keep pushing ``{"type": "<job>", "data": {...}}`` onto their list; ``manage.py async_command``
or a worker with ``ARQ_DJANGO["LIST_SOURCES"]`` moves each message to arq's queue exactly once.
"""

from __future__ import annotations

from arq_django.exceptions import MalformedMessage
from arq_django.ingest.dead_letters import DeadLetter, adead_letter_count, dead_letter_count
from arq_django.ingest.decision import IngestStats
from arq_django.ingest.ingester import ListIngester
from arq_django.ingest.inline import InlineIngester
from arq_django.ingest.status import SourceStats, list_sources, source_stats

__all__ = [
    "DeadLetter",
    "IngestStats",
    "InlineIngester",
    "ListIngester",
    "MalformedMessage",
    "SourceStats",
    "adead_letter_count",
    "dead_letter_count",
    "list_sources",
    "source_stats",
]
