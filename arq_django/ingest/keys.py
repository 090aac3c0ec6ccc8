"""The Redis keys that belong to one list source (``async_tasks`` → ``async_tasks:dead`` ...)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceKeys:
    """Key names derived from the producers' list; all start with ``<source>:`` so they sort together."""

    source: str
    """The list producers LPUSH onto (``async_tasks``)."""

    @property
    def dead(self) -> str:
        """Messages that could not become jobs, newest first, each a JSON dead-letter entry."""
        return f"{self.source}:dead"

    @property
    def consumers(self) -> str:
        """Set of the ingesters that have (or had) a processing list for this source."""
        return f"{self.source}:consumers"

    def processing(self, consumer: str) -> str:
        """One ingester's claimed messages: moved here atomically, removed once committed."""
        return f"{self.source}:processing:{consumer}"

    def heartbeat(self, consumer: str) -> str:
        """Exists (with a TTL of ``LIST_LEASE``) while the ingester is alive."""
        return f"{self.source}:consumer:{consumer}"

    @property
    def down(self) -> str:
        """Hash of the workers whose in-worker ingester crashed and waits to restart (:mod:`.supervise`)."""
        return f"{self.source}:down"
