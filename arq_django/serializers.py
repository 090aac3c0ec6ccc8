"""Job payload and result serializers: tagged JSON by default, pickle or a custom pair on request.

JSON is the default because arq's own default, pickle, turns every ``GET`` of a job record into code
execution for anyone who can write to Redis. The JSON form keeps exact round trips for the types
Django code passes around (datetime aware and naive, date, time, timedelta, Decimal, UUID, bytes, set)
by writing them as small tagged objects, never as ``str()``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import json
import pickle
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from arq_django.conf import get_config
from arq_django.exceptions import JobFailed

TAG = "__arq__"
"""Key marking a tagged value: ``{"__arq__": "<type>", "v": <payload>}``."""

Dumps = Callable[[Any], bytes]
Loads = Callable[[bytes], Any]


@dataclass(frozen=True)
class Serializer:
    """A named dumps/loads pair, handed to arq as ``job_serializer``/``job_deserializer``."""

    name: str
    dumps: Dumps
    loads: Loads


_PLAIN: Final = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    """Turn ``value`` into plain JSON data, tagging the types JSON has no word for."""
    if type(value) in _PLAIN:
        return value
    if type(value) is tuple and all(type(item) in _PLAIN for item in value):
        return list(value)  # job arguments, most often: no item needs a look
    if isinstance(value, (str, bool, int, float)):  # their subclasses (a TextChoices member, say)
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"dict key {key!r} is a {type(key).__name__}, and JSON object keys must be str: "
                    "convert the keys, e.g. {str(k): v for k, v in d.items()}"
                )
            out[key] = item if type(item) in _PLAIN else _encode(item)
        if TAG in out:
            # A user dict that happens to use our tag key travels as key/value pairs (object_hook
            # decodes inside out, so the dict itself must not look like a tag on the way back).
            return {TAG: "dict", "v": [[k, v] for k, v in out.items()]}
        return out
    if isinstance(value, (list, tuple)):
        return [item if type(item) in _PLAIN else _encode(item) for item in value]
    if isinstance(value, dt.datetime):
        if isinstance(value.tzinfo, ZoneInfo):
            # Keep the zone's name, not just today's offset, so arithmetic after decoding stays right.
            return {TAG: "datetime", "v": [value.isoformat(), value.tzinfo.key]}
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "v": value.hex}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [_encode(item) for item in value]}
    if isinstance(value, BaseException):
        # Results of failed jobs: kept as type + message, never rebuilt by importing a class named in Redis.
        if isinstance(value, asyncio.CancelledError):
            return {TAG: "cancelled", "v": str(value)}
        if isinstance(value, JobFailed):
            return {TAG: "exception", "v": [value.exc_type, value.message]}
        exc_type = type(value)
        return {TAG: "exception", "v": [f"{exc_type.__module__}.{exc_type.__qualname__}", str(value)]}
    raise TypeError(f"{type(value).__name__} is not JSON serializable{_instead(value)}")


def _instead(value: Any) -> str:
    from django.db.models import Model  # only on this error path

    if isinstance(value, Model):
        return f"; use its primary key ({type(value).__name__}.pk) instead of the instance"
    return ""


def _decode_tagged(obj: dict[str, Any]) -> Any:
    tag = obj.get(TAG)
    if tag is None or len(obj) != 2 or "v" not in obj:
        return obj
    v = obj["v"]
    match tag:
        case "datetime":
            if isinstance(v, list):
                return dt.datetime.fromisoformat(v[0]).astimezone(ZoneInfo(v[1]))
            return dt.datetime.fromisoformat(v)
        case "date":
            return dt.date.fromisoformat(v)
        case "time":
            return dt.time.fromisoformat(v)
        case "timedelta":
            return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        case "decimal":
            return Decimal(v)
        case "uuid":
            return uuid.UUID(hex=v)
        case "bytes":
            return base64.b64decode(v)
        case "set":
            return set(v)
        case "dict":
            return dict(v)
        case "cancelled":
            return asyncio.CancelledError(v) if v else asyncio.CancelledError()
        case "exception":
            return JobFailed(v[0], v[1])
    return obj


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""Built once: ``json.dumps`` with options builds an encoder per call, a cost on every enqueue."""


def json_dumps(value: Any) -> bytes:
    """Encode with tags; raises ``TypeError`` naming the value that JSON cannot hold."""
    return _ENCODER.encode(_encode(value)).encode()


_DECODER: Final = json.JSONDecoder(object_hook=_decode_tagged)
"""Built once, as :data:`_ENCODER`: ``json.loads`` with an ``object_hook`` builds a decoder per call."""


def json_loads(data: bytes | str) -> Any:
    if type(data) is bytes:
        return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))  # as json.loads
    if type(data) is str:
        return _DECODER.decode(data)
    return json.loads(data, object_hook=_decode_tagged)  # its own errors for anything else


JSON = Serializer("json", json_dumps, json_loads)
PICKLE = Serializer("pickle", pickle.dumps, pickle.loads)


@functools.cache
def _load(spec: str) -> Serializer:
    if spec == "json":
        return JSON
    if spec == "pickle":
        return PICKLE
    try:
        obj = import_string(spec)
    except ImportError as e:
        raise ImproperlyConfigured(
            f"ARQ_DJANGO['SERIALIZER'] = {spec!r} cannot be imported: {e}. "
            "Use 'json', 'pickle' or a dotted path to an object with dumps() and loads()."
        ) from e
    dumps, loads = getattr(obj, "dumps", None), getattr(obj, "loads", None)
    if not callable(dumps) or not callable(loads):
        raise ImproperlyConfigured(
            f"ARQ_DJANGO['SERIALIZER'] = {spec!r} has no callable dumps() and loads()."
        )
    return Serializer(spec, dumps, loads)


def get_serializer() -> Serializer:
    """The configured serializer (``ARQ_DJANGO['SERIALIZER']``)."""
    return _load(get_config().serializer)


def to_json_data(value: Any) -> Any:
    """``value`` as plain JSON data in the tagged form (for ``JSONField`` columns); a value the JSON
    form cannot hold (a pickle-serializer payload) is kept as its ``repr``. NaN and infinities pass
    as floats: :func:`strict_json` turns data holding them into their ``repr`` as well."""
    try:
        return _encode(value)
    except TypeError:
        return _repr(value)


def strict_json(data: Any) -> Any:
    """``data`` (from :func:`to_json_data`) if standard JSON can hold it, else its ``repr``, tagged:
    a database's JSON column refuses ``NaN`` and ``Infinity``."""
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return _repr(data)
    return data


def _repr(value: Any) -> dict[str, str]:
    return {TAG: "repr", "v": repr(value)}


def from_json_data(data: Any) -> Any:
    """The inverse of :func:`to_json_data` (tagged values come back as their types)."""
    return json_loads(json.dumps(data).encode())
