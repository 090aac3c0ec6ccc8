"""Where a Redis lives: one URL (``redis://``, ``rediss://``, ``unix://``) or a Sentinel set.

The Sentinel grammar (one URL, so a queue's server is still one setting)::

    redis+sentinel://[[user]:password@]host1[:26379][,host2[:26379]...]/<master name>[/<db>]
        [?sentinel_password=...&sentinel_username=...]

The user and password before ``@`` are the *master's* (and its replicas'), as in a ``redis://`` URL;
the sentinels' own password, if they have one, is the ``sentinel_password`` query parameter. Both are
masked by :func:`redact_url`. TLS settings (``REDIS_SSL_*``) apply to ``rediss://`` URLs only.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from django.core.exceptions import ImproperlyConfigured

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
SENTINEL_PARAMS = ("sentinel_password", "sentinel_username")
SSL_KEYS = ("REDIS_SSL_CA_CERTS", "REDIS_SSL_CERTFILE", "REDIS_SSL_KEYFILE", "REDIS_SSL_CERT_REQS")
"""The ``ARQ_DJANGO`` keys (top level, or in one ``QUEUES`` entry) that configure TLS."""
CERT_REQS = ("required", "optional", "none")
EXAMPLE = "redis+sentinel://:password@sentinel-1:26379,sentinel-2:26379/mymaster/0"

_SECRET_PARAMS = ("pass", "pwd", "secret", "token", "auth", "key", "credential")
"""A query parameter whose name holds one of these (``password``, ``api_key``...) is masked."""


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, "***" if any(s in k.lower() for s in _SECRET_PARAMS) else v) for k, v in pairs], safe="*"
    )


def redact_url(url: str) -> str:
    """The URL without user name, password or secret-bearing query parameters (``?password=``,
    ``?sentinel_password=``), for logs and error messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"  # not a URL: it might be a bare secret
    authority, slash, tail = rest.partition("/")
    path_and_query = slash + tail
    if not slash:
        authority, qmark, query_only = rest.partition("?")
        path_and_query = qmark + query_only
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    path, qmark, query = path_and_query.partition("?")
    query = _redact_query(query) if query else ""
    return f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class RedisServer:
    """One Redis server (or Sentinel-managed master) and how to reach it; hashable, so it keys the
    connection caches. Secrets stay out of its repr."""

    url: str = field(repr=False)
    """The URL as configured (with its secrets)."""
    sentinels: tuple[tuple[str, int], ...] = ()
    """``(host, port)`` of each sentinel; empty for a plain URL."""
    master: str = ""
    """The Sentinel master (service) name."""
    db: int = 0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    ssl: tuple[tuple[str, Any], ...] = ()
    """redis-py's ``ssl_*`` keyword arguments (``rediss://`` only)."""

    @property
    def label(self) -> str:
        """The URL without secrets: how messages, health and ops name this server."""
        return redact_url(self.url)

    @property
    def is_sentinel(self) -> bool:
        return bool(self.sentinels)

    def ssl_kwargs(self) -> dict[str, Any]:
        return dict(self.ssl)


def parse_server(url: Any, options: dict[str, Any], setting: str) -> RedisServer:
    """Validate one server's URL and TLS options (``setting`` names where they came from, e.g.
    ``ARQ_DJANGO['QUEUES']['mail']``); ``ImproperlyConfigured`` says what is wrong and the fix."""
    if not isinstance(url, str) or not url.startswith(
        ("redis://", "rediss://", "unix://", SENTINEL_SCHEME, "rediss+")
    ):
        raise ImproperlyConfigured(
            f"{setting}['REDIS_URL'] must be a redis://, rediss://, unix:// or {SENTINEL_SCHEME}:// URL "
            f"(e.g. 'redis://localhost:6379/0' or '{EXAMPLE}')."
        )
    tls = _ssl_options(url, options, setting)
    if url.startswith((SENTINEL_SCHEME, "rediss+")):
        return _parse_sentinel(url, setting)
    return RedisServer(url=url, ssl=tls)


def _parse_sentinel(url: str, setting: str) -> RedisServer:
    where = f"{setting}['REDIS_URL'] ({redact_url(url)})"
    if not url.startswith(SENTINEL_SCHEME + "://"):
        raise ImproperlyConfigured(
            f"{where}: TLS to sentinels (rediss+sentinel://) is not supported; use {SENTINEL_SCHEME}://, "
            f"e.g. '{EXAMPLE}'."
        )
    rest = url[len(SENTINEL_SCHEME) + 3 :]
    rest, _, query = rest.partition("?")
    authority, _, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = tuple(_host_port(h, where) for h in hosts.split(",")) if hosts else ()
    if not sentinels:
        raise ImproperlyConfigured(
            f"{where} names no sentinel; list them as host:port,host:port: '{EXAMPLE}'."
        )
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ImproperlyConfigured(
            f"{where} must end with the master's name and, optionally, the database: '/mymaster/0' "
            f"(e.g. '{EXAMPLE}')."
        )
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise ImproperlyConfigured(
                f"{where}: the database {parts[1]!r} must be a number, e.g. '/mymaster/0'."
            )
        db = int(parts[1])
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(params) - set(SENTINEL_PARAMS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where} has unknown query parameters {unknown}; a Sentinel URL takes only "
            f"{list(SENTINEL_PARAMS)}."
        )
    return RedisServer(
        url=url,
        sentinels=sentinels,
        master=unquote(parts[0]),
        db=db,
        username=username,
        password=password,
        sentinel_username=params.get("sentinel_username") or None,
        sentinel_password=params.get("sentinel_password") or None,
    )


def _host_port(text: str, where: str) -> tuple[str, int]:
    host, port = text, str(SENTINEL_PORT)
    if text.startswith("["):  # [::1]:26379
        host, _, after = text[1:].partition("]")
        port = after[1:] if after.startswith(":") else port
    elif ":" in text:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(
            f"{where}: sentinel {text!r} must be host or host:port, e.g. 'sentinel-1:26379'."
        )
    return host, int(port)


def _ssl_options(url: str, options: dict[str, Any], setting: str) -> tuple[tuple[str, Any], ...]:
    given = {k: options[k] for k in SSL_KEYS if options.get(k) is not None}
    if not url.startswith("rediss://"):
        if given:
            raise ImproperlyConfigured(
                f"{setting}[{sorted(given)[0]!r}] is set but {setting}['REDIS_URL'] ({redact_url(url)}) does "
                "not use TLS: write rediss:// (or drop the REDIS_SSL_* settings)."
            )
        return ()
    kwargs: dict[str, Any] = {}
    for key, name in (
        ("REDIS_SSL_CA_CERTS", "ssl_ca_certs"),
        ("REDIS_SSL_CERTFILE", "ssl_certfile"),
        ("REDIS_SSL_KEYFILE", "ssl_keyfile"),
    ):
        path = given.get(key)
        if path is None:
            continue
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            raise ImproperlyConfigured(f"{setting}[{key!r}] must name a readable file, got {path!r}.")
        kwargs[name] = os.fspath(path)
    reqs = given.get("REDIS_SSL_CERT_REQS", "required")
    if reqs not in CERT_REQS:
        raise ImproperlyConfigured(
            f"{setting}['REDIS_SSL_CERT_REQS'] must be one of {list(CERT_REQS)}, got {reqs!r}."
        )
    if ("ssl_certfile" in kwargs) != ("ssl_keyfile" in kwargs):
        raise ImproperlyConfigured(
            f"{setting}: a client certificate needs both REDIS_SSL_CERTFILE and REDIS_SSL_KEYFILE."
        )
    kwargs["ssl_cert_reqs"] = reqs
    return tuple(sorted(kwargs.items()))


def is_certificate_error(error: BaseException) -> bool:
    """The error (or one it was raised from) is a failed TLS certificate check."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


QUEUE_KEYS = ("REDIS_URL", *SSL_KEYS)
"""What one ``ARQ_DJANGO['QUEUES']`` entry may set."""


def parse_queue_servers(queues: Any, raw: dict[str, Any], default: RedisServer) -> dict[str, RedisServer]:
    """``QUEUES`` as a dict: each queue that names a ``REDIS_URL`` → its server (a ``rediss://`` one
    inherits the top-level ``REDIS_SSL_*`` keys it does not set). A list names queues only."""
    if not isinstance(queues, dict):
        return {}
    found: dict[str, RedisServer] = {}
    for name, entry in queues.items():
        setting = f"ARQ_DJANGO['QUEUES'][{name!r}]"
        if not isinstance(name, str) or not name:
            raise ImproperlyConfigured(f"ARQ_DJANGO['QUEUES'] keys must be queue names, got {name!r}.")
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(
                f"{setting} must be a dict such as {{'REDIS_URL': 'redis://mail-redis:6379/0'}} (or {{}} for "
                f"the default server), got a {type(entry).__name__}."
            )
        unknown = sorted(set(entry) - set(QUEUE_KEYS), key=str)
        if unknown:
            raise ImproperlyConfigured(
                f"{setting} has unknown keys {unknown}; a queue may set {list(QUEUE_KEYS)}."
            )
        url = entry.get("REDIS_URL")
        if url is None:
            if set(entry) & set(SSL_KEYS):
                raise ImproperlyConfigured(f"{setting} sets REDIS_SSL_* keys but no REDIS_URL of its own.")
            continue
        inherited = {k: raw.get(k) for k in SSL_KEYS} if str(url).startswith("rediss://") else {}
        server = parse_server(url, {**inherited, **entry}, setting)
        if server != default:
            found[name] = server
    return found
