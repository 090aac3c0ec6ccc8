"""Dead letters: list messages that could not become jobs, kept in ``<source>:dead`` with the reason.

Each entry is a JSON object: ``message`` (the raw element, as text, or base64 when it was not UTF-8 —
``encoding`` says which), ``reason``, ``at`` (UTC, ISO 8601), ``source`` and ``consumer`` (the ingester).
Nothing here deletes or rewrites a message except :func:`requeue` and :func:`drop`, each atomically
per entry.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import redis

from arq_django.connection import async_pool, sync_client
from arq_django.ingest.scripts import MOVE_ONE
from arq_django.keys import SourceKeys


@dataclass(frozen=True)
class DeadLetter:
    """One entry of a dead list."""

    message: bytes
    """The raw element exactly as the producer pushed it."""
    reason: str
    at: datetime | None
    source: str
    consumer: str | None = None
    entry: bytes = field(default=b"", repr=False)
    """The stored entry itself, which identifies it for :func:`requeue` and :func:`drop`."""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (``message`` as text, or base64 with ``encoding: "base64"``)."""
        text, encoding = _text(self.message)
        return {
            "source": self.source,
            "reason": self.reason,
            "at": self.at.isoformat() if self.at else None,
            "consumer": self.consumer,
            "encoding": encoding,
            "message": text,
        }


def printable(reason: str) -> str:
    """``reason`` with lone surrogates (from a message's own text) escaped, so it encodes as UTF-8."""
    return reason.encode("utf-8", "backslashreplace").decode("utf-8")


def encode(message: bytes, reason: str, source: str, consumer: str | None = None) -> bytes:
    """The dead-list entry for ``message``."""
    letter = DeadLetter(message, printable(reason), datetime.now(UTC), source, consumer)
    return json.dumps(letter.as_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def decode(entry: bytes, source: str) -> DeadLetter:
    """Read an entry back; an entry not written by :func:`encode` is shown as-is rather than hidden."""
    try:
        obj = json.loads(entry)
        raw = obj["message"]
        message = base64.b64decode(raw) if obj.get("encoding") == "base64" else raw.encode()
        at = datetime.fromisoformat(obj["at"]) if obj.get("at") else None
        return DeadLetter(message, str(obj["reason"]), at, source, obj.get("consumer"), entry)
    except (ValueError, KeyError, TypeError, AttributeError):
        return DeadLetter(entry, "unreadable dead-letter entry", None, source, None, entry)


def _text(message: bytes) -> tuple[str, str]:
    try:
        return message.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(message).decode("ascii"), "base64"


def dead_letter_count(source: str, client: redis.Redis | None = None) -> int:
    """How many messages of ``source`` sit in its dead list (for ``arq_status`` and health checks)."""
    return cast(int, (client or sync_client()).llen(SourceKeys(source).dead))


async def adead_letter_count(source: str) -> int:
    """Async twin of :func:`dead_letter_count`, on the running loop's pool."""
    return await cast(Awaitable[int], async_pool().llen(SourceKeys(source).dead))


def dead_letters(
    source: str, limit: int | None = None, client: redis.Redis | None = None
) -> list[DeadLetter]:
    """The dead list, oldest first (the order to replay in); at most ``limit`` entries."""
    client = client or sync_client()
    # Entries are LPUSHed, so the oldest sit at the right end.
    start = 0 if limit is None else -limit
    entries = cast(list[bytes], client.lrange(SourceKeys(source).dead, start, -1))
    return [decode(entry, source) for entry in reversed(entries)]


def requeue(letter: DeadLetter, client: redis.Redis | None = None) -> bool:
    """Push the original message back onto its source list, removing the entry in the same step;
    ``False`` when someone else already requeued or dropped it."""
    keys = SourceKeys(letter.source)
    script = (client or sync_client()).register_script(MOVE_ONE)
    return bool(script(keys=[keys.dead, keys.source], args=[letter.entry, letter.message]))


def drop(letter: DeadLetter, client: redis.Redis | None = None) -> bool:
    """Delete the entry for good; ``False`` when it was already gone."""
    script = (client or sync_client()).register_script(MOVE_ONE)
    return bool(script(keys=[SourceKeys(letter.source).dead], args=[letter.entry]))
