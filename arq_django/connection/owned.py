"""A connection of each thread's own for the sync enqueue path: no pool checkout per call.

redis-py's pool makes sure a connection it hands out holds no unread data (a reply left behind by a
command that was interrupted): at every checkout it changes the socket's timeout, tries a
non-blocking read and changes the timeout back. For a one-command call such as ``enqueue()``'s
``EVALSHA`` that is three system calls, plus the pool's lock, around one round trip: measured on the
2-core machine kind, 150 µs per ``enqueue()`` with the pool against 127 µs on a connection of its own.

A connection only ever used by one thread cannot be handed over with a reply in it if it is dropped
whenever a command fails short of a whole reply: a refused command (``NOSCRIPT``, a wrong type)
leaves it as it is, anything else (a timeout, a broken connection, an interrupt) disconnects it and
the thread's next call opens a new one. A forked child never uses its parent's, and
:func:`close_all` (called by ``close_sync_clients``) closes every thread's.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import redis

_local = threading.local()
_opened: weakref.WeakSet[Any] = weakref.WeakSet()
_opened_lock = threading.Lock()
_generation = 0
"""Bumped by :func:`close_all`: a thread drops connections opened in an earlier generation."""


def _connections() -> dict[int, tuple[redis.Redis, Any]]:
    """This thread's connections by client id (each kept with its client, so the id stays the client's)."""
    found: dict[int, tuple[redis.Redis, Any]] | None = getattr(_local, "connections", None)
    if found is None or _local.pid != os.getpid() or _local.generation != _generation:
        found = _local.connections = {}
        _local.pid, _local.generation = os.getpid(), _generation
    return found


def execute(client: redis.Redis, *args: Any) -> Any:
    """Run one command on this thread's own connection to ``client``'s server and return Redis's reply
    as the connection reads it (no response callback: for ``EVALSHA`` and the like)."""
    connections = _connections()
    entry = connections.get(id(client))
    if entry is None or entry[0] is not client:
        entry = connections[id(client)] = (client, client.connection_pool.make_connection())
        with _opened_lock:
            _opened.add(entry[1])
    connection = entry[1]
    try:
        connection.send_command(*args)
        return connection.read_response()
    except redis.ResponseError:
        raise  # a whole reply was read: the connection is clean
    except BaseException:
        del connections[id(client)]
        connection.disconnect()
        raise


def close_all() -> None:
    """Close every thread's connections (each thread opens a new one on its next call)."""
    global _generation
    with _opened_lock:
        _generation += 1
        opened = list(_opened)
        _opened.clear()
    for connection in opened:
        connection.disconnect()
